"""The tables of the app's map, trailer and compare views: cached exploration steps joined with metadata.

The app calls these functions; they call the cached steps of :mod:`mmx_core.explore`
(:mod:`~mmx_core.explore.cached_map`, :mod:`~mmx_core.explore.cached_clusters`, ...) and join the results
with each set's metadata into the tables the pages show. The Compare page shows :func:`mmx_core.explore.cached_comparison.comparison`
(the result the ``compare`` command prints) through :func:`comparison_table` and :func:`comparison_map`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore import cached_clusters, cached_map, cached_neighbours
from mmx_core.explore.compare import SpaceComparison
from mmx_core.explore.reduction import memo
from mmx_core.explore.scale import parent_of

__all__ = ["MapData", "map_data", "base_frame", "neighbour_table", "side_by_side", "selected_rows",
           "comparison_table", "comparison_map", "genre_share", "GROUPED_ABOVE"]

NOISE = -1
GROUPED_ABOVE = 60
"""A map of more clusters than this also carries sub-genre groups (:attr:`MapData.groups`): the parents of its
clusters in HDBSCAN's condensed tree (:meth:`~mmx_core.explore.cached_clusters.ClusterResult.parents`)."""


@dataclass
class MapData:
    """One map: a row per trailer plus the cluster summaries.

    Attributes
    ----------
    frame : DataFrame
        ``id, x, y, cluster, cluster_label, probability, display_title, year, genres`` (genres as
        ``"A, B"``), ``genre_list`` (list), in the order of the embedding set.
    summaries : DataFrame
        ``cluster, label, short_label, legend_label, size, genres`` (over-represented genres as text),
        ``typical`` (titles), ``x, y`` (centre), largest first; noise excluded.
    note : str
        Caveat to show beside the map (empty when there is none).
    groups : DataFrame or None
        On a map of more than :data:`GROUPED_ABOVE` clusters, the sub-genre groups (parents of the clusters):
        ``group, label, short_label, legend_label, size, genres, typical, x, y`` like ``summaries``, largest
        first; ``frame`` and ``summaries`` then have a ``group`` column (-1 = noise). None on smaller maps.
    background : str
        The legend's name of the grey layer (rows of cluster -1): "noise", or for layers that are not clusters
        (named sub-genres, tags) what the grey rows lack.
    """

    frame: pd.DataFrame
    summaries: pd.DataFrame
    note: str = ""
    params: dict = field(default_factory=dict)
    groups: pd.DataFrame | None = None
    background: str = "noise"

    @functools.cached_property
    def genre_share(self) -> pd.Series:
        """:func:`genre_share` of every trailer of the map, what a selection is compared with: computed once per
        map (it walks every trailer's genres), not on every click."""
        return genre_share(self.frame["genre_list"])


def base_frame(emb: EmbeddingSet) -> pd.DataFrame:
    """One row per trailer of ``emb``, in its order: ``id, display_title, year, genre_list`` (list),
    ``genres`` (``"A, B"``) and, for a set embedded from a data set, ``dataset``; the id stands in for a
    missing title. The map columns come from :func:`map_data`."""
    meta = emb.metadata if emb.metadata is not None else pd.DataFrame({"id": emb.ids})
    frame = pd.DataFrame({"id": emb.ids.astype(str)})
    frame["display_title"] = meta["display_title"].astype(str).to_numpy() if "display_title" in meta else frame["id"]
    frame["year"] = pd.to_numeric(meta["year"], errors="coerce").astype("Int64").to_numpy() if "year" in meta else pd.NA
    genre_list = list(meta["genres"]) if "genres" in meta else [[] for _ in range(len(frame))]
    frame["genre_list"] = [list(g) if isinstance(g, (list, tuple, np.ndarray)) else [] for g in genre_list]
    frame["genres"] = [", ".join(g) for g in frame["genre_list"]]
    if "dataset" in meta:  # a set embedded from a data set: where its thumbnails and source videos are
        frame["dataset"] = meta["dataset"].astype(str).to_numpy()
    return frame


def map_data(emb: EmbeddingSet, projection: str = cached_map.DEFAULT_PROJECTION["method"],
             min_cluster_size: int = cached_clusters.DEFAULT_CLUSTERS["min_cluster_size"],
             projection_params: dict | None = None) -> MapData:
    """Projection and sub-genre clusters of ``emb`` joined with its metadata.

    ``projection_params`` are passed to the projector (e.g. ``n_neighbors``, ``min_dist``, ``perplexity``).
    """
    if min_cluster_size < 2:
        raise MMXError(f"minimum cluster size must be at least 2, got {min_cluster_size}")
    frame = base_frame(emb)
    xy = cached_map.projection(emb, method=projection, **(projection_params or {}))
    frame = frame.merge(xy[["id", "x", "y"]], on="id", how="left")
    groups = None
    if len(emb) > min_cluster_size:
        clusters = cached_clusters.clusters(emb, min_cluster_size=min_cluster_size)
        frame = frame.merge(clusters.table[["id", "cluster", "probability"]], on="id", how="left")
        frame["cluster"] = frame["cluster"].fillna(NOISE).astype(int)
        summaries, note = _summaries_from_pipeline(clusters.summaries, frame), ""
        if len(summaries) > GROUPED_ABOVE:
            groups = _add_groups(clusters, emb, frame, summaries)
    else:  # a small set (e.g. a few trailers of one's own): the map without sub-genres, and why
        frame["cluster"], frame["probability"] = NOISE, np.nan
        summaries = _summary_frame([])
        note = (f"{len(emb)} trailers are too few for sub-genres of at least {min_cluster_size} trailers: "
                "lower the minimum cluster size or add trailers.")
    label_of = dict(zip(summaries["cluster"], summaries["label"]))
    frame["cluster_label"] = [label_of.get(c, "noise") for c in frame["cluster"]]
    return MapData(frame, summaries, note, {"projection": projection, "min_cluster_size": min_cluster_size,
                                            **(projection_params or {})}, groups)


def _add_groups(clusters: cached_clusters.ClusterResult, emb: EmbeddingSet, frame: pd.DataFrame,
                summaries: pd.DataFrame) -> pd.DataFrame:
    """The parents of the clusters as a ``group`` column of ``frame`` and ``summaries`` (-1 = noise), and
    their summaries table (``group``, then the columns of ``summaries``)."""
    table, parents = clusters.parents(emb)
    frame["group"] = parent_of(table, frame["cluster"].to_numpy())
    summaries["group"] = parent_of(table, summaries["cluster"].to_numpy())
    return _summaries_from_pipeline(parents, frame, key="group").rename(columns={"cluster": "group"})


def _summaries_from_pipeline(summaries, frame: pd.DataFrame, key: str = "cluster") -> pd.DataFrame:
    centre = frame[frame[key] >= 0].groupby(key)[["x", "y"]].median()
    title_of = dict(zip(frame["id"], frame["display_title"]))
    rows = []
    for s in summaries:
        if s.cluster < 0:
            continue
        rows.append({
            "cluster": int(s.cluster), "label": str(s.label), "short_label": str(s.short_label),
            "legend_label": str(s.legend_label), "size": int(s.size),
            "genres": ", ".join(f"{g} ×{lift:.1f}" for g, lift, _share in list(s.genre_lift)[:3]),
            "typical": "; ".join(title_of.get(str(t), str(t)) for t in list(s.typical_ids)[:3]),
            "x": float(centre.loc[s.cluster, "x"]) if s.cluster in centre.index else np.nan,
            "y": float(centre.loc[s.cluster, "y"]) if s.cluster in centre.index else np.nan,
        })
    return _summary_frame(rows)


def _summary_frame(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["cluster", "label", "short_label", "legend_label", "size", "genres", "typical",
                                        "x", "y"])
    return table.sort_values(["size", "cluster"], ascending=[False, True]).reset_index(drop=True)


def genre_share(genre_lists) -> pd.Series:
    """Share of trailers tagged with each genre (a trailer counts once per genre)."""
    counts = pd.Series([g for genres in genre_lists for g in genres], dtype=object).value_counts()
    return (counts / max(1, len(genre_lists))).sort_values(ascending=False)


def selected_rows(event, n_rows: int) -> np.ndarray:
    """Row positions picked in a plotly selection event (click, box or lasso).

    Points carry their row as the first ``customdata`` value; points without it
    (labels, density layers) are ignored.
    """
    if not event:
        return np.zeros(0, dtype=np.int64)
    selection = event.get("selection", event) if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    rows = []
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, dict) else None
        try:
            row = int(custom[0] if isinstance(custom, (list, tuple)) else custom)
        except (TypeError, ValueError):   # no row (None) or not a number
            continue
        if 0 <= row < n_rows:
            rows.append(row)
    return np.unique(np.asarray(rows, dtype=np.int64))


def neighbour_table(emb: EmbeddingSet, trailer_id: str, k: int = 10) -> pd.DataFrame:
    """Top-``k`` neighbours of ``trailer_id`` in ``emb``: ``id, display_title, year, score, shared_genres``
    (all the other trailers when the set has ``k`` or fewer)."""
    row = emb.index_of(trailer_id)
    found = cached_neighbours.neighbours(emb, trailer_id, k=max(1, min(k, len(emb) - 1)))
    base = _indexed_base(emb)
    rows = np.array([emb.index_of(t) for t in found["id"]], dtype=np.int64)
    own = set(base["genre_list"][row])
    return pd.DataFrame({
        "id": found["id"].to_numpy(), "display_title": base["display_title"][rows],
        "year": base["year"].iloc[rows].to_numpy(), "score": found["score"].to_numpy(),
        "shared_genres": [", ".join(g for g in base["genre_list"][r] if g in own) for r in rows]})


_BASE: dict = {}


def _indexed_base(emb: EmbeddingSet) -> dict:
    """The columns of :func:`base_frame` that neighbour tables read, by row: ``display_title`` and
    ``genre_list`` as arrays, ``year`` as its (nullable integer) Series; built once per set."""
    def build() -> dict:
        frame = base_frame(emb)
        return {"display_title": frame["display_title"].to_numpy(dtype=object),
                "genre_list": frame["genre_list"].to_numpy(dtype=object), "year": frame["year"]}

    return memo((emb.content_hash, id(emb.metadata)), build, keep=emb.metadata, store=_BASE, size=9)


def warm_neighbours(emb: EmbeddingSet) -> None:
    """Build the neighbour index (and the metadata table) of ``emb`` now, so the first click is fast."""
    if len(emb) > 1:
        neighbour_table(emb, str(emb.ids[0]), k=1)


def side_by_side(first: EmbeddingSet, second: EmbeddingSet | None, trailer_id: str, k: int = 10) -> pd.DataFrame:
    """Neighbours in two spaces, rank by rank, with ``in_both`` marking trailers found in both lists.

    With no second set (or a trailer absent from it), only the first space's columns are filled.
    """
    a = neighbour_table(first, trailer_id, k)
    if second is None or trailer_id not in second:
        a["in_both"] = False
        return a
    b = neighbour_table(second, trailer_id, k)
    common = set(a["id"]) & set(b["id"])
    a["in_both"] = a["id"].isin(common)
    b["in_both"] = b["id"].isin(common)
    return pd.concat([a.add_suffix("_a"), b.add_suffix("_b")], axis=1)


def comparison_table(result: SpaceComparison, emb: EmbeddingSet) -> pd.DataFrame:
    """The Compare page's table: one row per compared trailer, in the order of ``result.table``.

    Columns ``id, display_title, year, genres, genre_list`` (from ``emb``'s metadata, e.g. space A),
    ``jaccard, cluster_a, cluster_b, label_a, label_b`` and ``x_a, y_a, x_b, y_b`` (map B aligned
    onto map A). Everything but the metadata comes from ``result``, the comparison the
    ``compare`` command prints.
    """
    table = result.table[["id", "jaccard", "cluster_a", "cluster_b"]].reset_index(drop=True)
    base = base_frame(emb).set_index("id")
    frame = base.reindex(table["id"])[["display_title", "year", "genres", "genre_list"]].reset_index()
    frame["display_title"] = frame["display_title"].fillna(frame["id"])
    frame["genres"] = frame["genres"].fillna("")
    frame["genre_list"] = [g if isinstance(g, list) else [] for g in frame["genre_list"]]
    frame[["jaccard", "cluster_a", "cluster_b"]] = table[["jaccard", "cluster_a", "cluster_b"]]
    for side in ("a", "b"):
        labels = result.labels(side)
        frame[f"label_{side}"] = [labels.get(int(c), "noise") for c in frame[f"cluster_{side}"]]
    if result.aligned is not None:
        aligned = result.aligned.set_index("id").reindex(table["id"])
        frame[["x_a", "y_a", "x_b", "y_b"]] = aligned[["x_a", "y_a", "x_b", "y_b"]].to_numpy()
    return frame


def comparison_map(table: pd.DataFrame, result: SpaceComparison, side: str) -> pd.DataFrame:
    """The map frame of space ``side`` (``"a"`` or ``"b"``) of a :func:`comparison_table`, for
    :func:`mmx_core.appkit.map_figure.map_figure`: ``x, y, cluster, cluster_label, cluster_legend`` plus metadata."""
    frame = table.rename(columns={f"x_{side}": "x", f"y_{side}": "y", f"cluster_{side}": "cluster"})
    legends = result.labels(side, "legend_label")
    frame["cluster_label"] = table[f"label_{side}"]
    frame["cluster_legend"] = [legends.get(int(c), "noise") for c in frame["cluster"]]
    return frame
