"""What the app's map, trailer and compare views need, assembled from the exploration pipeline.

The app calls these functions; they call :mod:`mmx_core.explore.pipeline`
(cached on disk) and join the results with each set's metadata into the
tables the pages show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmx_core.base.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore import pipeline

__all__ = ["MapData", "map_data", "neighbour_table", "side_by_side", "selected_rows", "cluster_members",
           "Comparison", "compare_sets", "genre_share"]

NOISE = -1


@dataclass
class MapData:
    """One map: a row per trailer plus the cluster summaries.

    Attributes
    ----------
    frame : DataFrame
        ``id, x, y, cluster, cluster_label, probability, display_title, year, genres`` (genres as
        ``"A, B"``), ``genre_list`` (list), in the order of the embedding set.
    summaries : DataFrame
        ``cluster, label, size, genres`` (over-represented genres as text), ``typical`` (titles),
        ``x, y`` (centre), largest first; noise excluded.
    note : str
        Caveat to show beside the map (empty when there is none).
    """

    frame: pd.DataFrame
    summaries: pd.DataFrame
    note: str = ""
    params: dict = field(default_factory=dict)


def _genre_text(genres) -> str:
    return ", ".join(genres) if isinstance(genres, (list, tuple, np.ndarray)) else ""


def _base_frame(emb: EmbeddingSet) -> pd.DataFrame:
    meta = emb.metadata if emb.metadata is not None else pd.DataFrame({"id": emb.ids})
    frame = pd.DataFrame({"id": emb.ids.astype(str)})
    frame["display_title"] = meta["display_title"].astype(str).to_numpy() if "display_title" in meta else frame["id"]
    frame["year"] = pd.to_numeric(meta["year"], errors="coerce").astype("Int64").to_numpy() if "year" in meta else pd.NA
    genre_list = list(meta["genres"]) if "genres" in meta else [[] for _ in range(len(frame))]
    frame["genre_list"] = [list(g) if isinstance(g, (list, tuple, np.ndarray)) else [] for g in genre_list]
    frame["genres"] = [_genre_text(g) for g in frame["genre_list"]]
    return frame


def map_data(emb: EmbeddingSet, projection: str = "umap", min_cluster_size: int = 40,
             projection_params: dict | None = None) -> MapData:
    """Projection and sub-genre clusters of ``emb`` joined with its metadata.

    ``projection_params`` are passed to the projector (e.g. ``n_neighbors``, ``min_dist``, ``perplexity``).
    """
    if min_cluster_size < 2:
        raise MMXError(f"minimum cluster size must be at least 2, got {min_cluster_size}")
    frame = _base_frame(emb)
    xy = pipeline.projection(emb, method=projection, **(projection_params or {}))
    clusters = pipeline.clusters(emb, min_cluster_size=min_cluster_size)
    frame = frame.merge(xy[["id", "x", "y"]], on="id", how="left")
    frame = frame.merge(clusters.table[["id", "cluster", "probability"]], on="id", how="left")
    frame["cluster"] = frame["cluster"].fillna(NOISE).astype(int)
    summaries = _summaries_from_pipeline(clusters.summaries, frame)
    note = ""
    label_of = dict(zip(summaries["cluster"], summaries["label"]))
    frame["cluster_label"] = [label_of.get(c, "noise") for c in frame["cluster"]]
    return MapData(frame, summaries, note, {"projection": projection, "min_cluster_size": min_cluster_size,
                                            **(projection_params or {})})


def _summaries_from_pipeline(summaries, frame: pd.DataFrame) -> pd.DataFrame:
    centre = frame[frame["cluster"] >= 0].groupby("cluster")[["x", "y"]].median()
    title_of = dict(zip(frame["id"], frame["display_title"]))
    rows = []
    for s in summaries:
        if s.cluster < 0:
            continue
        rows.append({
            "cluster": int(s.cluster), "label": str(s.label), "size": int(s.size),
            "genres": ", ".join(f"{g} ×{lift:.1f}" for g, lift, _share in list(s.genre_lift)[:3]),
            "typical": "; ".join(title_of.get(str(t), str(t)) for t in list(s.typical_ids)[:3]),
            "x": float(centre.loc[s.cluster, "x"]) if s.cluster in centre.index else np.nan,
            "y": float(centre.loc[s.cluster, "y"]) if s.cluster in centre.index else np.nan,
        })
    return _summary_frame(rows)


def _summary_frame(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["cluster", "label", "size", "genres", "typical", "x", "y"])
    return table.sort_values(["size", "cluster"], ascending=[False, True]).reset_index(drop=True)


def genre_share(genre_lists) -> pd.Series:
    """Share of trailers tagged with each genre (a trailer counts once per genre)."""
    counts = pd.Series([g for genres in genre_lists for g in genres], dtype=object).value_counts()
    return (counts / max(1, len(genre_lists))).sort_values(ascending=False)


def cluster_members(data: MapData, cluster: int) -> pd.DataFrame:
    """Rows of the map in ``cluster`` (most confident first)."""
    members = data.frame[data.frame["cluster"] == cluster]
    return members.sort_values("probability", ascending=False)


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
        if custom is None:
            continue
        row = custom[0] if isinstance(custom, (list, tuple)) else custom
        try:
            row = int(row)
        except (TypeError, ValueError):
            continue
        if 0 <= row < n_rows:
            rows.append(row)
    return np.unique(np.asarray(rows, dtype=np.int64))


def neighbour_table(emb: EmbeddingSet, trailer_id: str, k: int = 10) -> pd.DataFrame:
    """Top-``k`` neighbours of ``trailer_id`` in ``emb``: ``id, display_title, year, score, shared_genres``."""
    row = emb.index_of(trailer_id)
    table = pipeline.neighbours(emb, trailer_id, k=k)[["id", "score"]].copy()
    base = _indexed_base(emb)
    rows = [emb.index_of(t) for t in table["id"]]
    own = set(base["genre_list"].iloc[row])
    table["display_title"] = base["display_title"].iloc[rows].to_numpy()
    table["year"] = base["year"].iloc[rows].to_numpy()
    table["shared_genres"] = [", ".join(g for g in base["genre_list"].iloc[r] if g in own) for r in rows]
    return table[["id", "display_title", "year", "score", "shared_genres"]].reset_index(drop=True)


_BASE: dict[tuple, pd.DataFrame] = {}


def _indexed_base(emb: EmbeddingSet) -> pd.DataFrame:
    key = (emb.content_hash, id(emb.metadata))
    if key not in _BASE:
        if len(_BASE) > 8:
            _BASE.clear()
        _BASE[key] = _base_frame(emb)
    return _BASE[key]


def warm_neighbours(emb: EmbeddingSet) -> None:
    """Build the neighbour index (and the metadata table) of ``emb`` now, so the first click is fast."""
    if len(emb) > 1:
        neighbour_table(emb, str(emb.ids[0]), k=1)


def side_by_side(first: EmbeddingSet, second: EmbeddingSet | None, trailer_id: str, k: int = 10) -> pd.DataFrame:
    """Neighbours in two spaces, rank by rank, with ``in_both`` marking trailers found in both lists.

    With no second set (or a trailer absent from it), only the first space's columns are filled.
    """
    a = neighbour_table(first, trailer_id, k)
    if second is None or trailer_id not in second._lookup():
        a["in_both"] = False
        return a
    b = neighbour_table(second, trailer_id, k)
    common = set(a["id"]) & set(b["id"])
    a["in_both"] = a["id"].isin(common)
    b["in_both"] = b["id"].isin(common)
    return pd.concat([a.add_suffix("_a"), b.add_suffix("_b")], axis=1)


@dataclass
class Comparison:
    """Two spaces compared on their common trailers.

    Attributes
    ----------
    table : DataFrame
        ``id, jaccard, cluster_a, cluster_b, label_a, label_b, x_a, y_a, x_b, y_b`` plus metadata columns.
    transitions : DataFrame
        ``cluster_a, cluster_b, count``.
    summary : dict
        ``mean_jaccard``, ``trailers``, ``k``.
    example : dict
        A coarse cluster whose members split into several fine clusters (the guided example).
    """

    table: pd.DataFrame
    transitions: pd.DataFrame
    summary: dict
    example: dict
    labels_a: dict
    labels_b: dict


def compare_sets(a: EmbeddingSet, b: EmbeddingSet, k: int = 10, min_cluster_size: int = 40,
                 projection: str = "umap") -> Comparison:
    """Neighbourhood overlap (Jaccard@k), cluster transitions and movers between two sets."""
    common = np.intersect1d(a.ids.astype(str), b.ids.astype(str))
    if len(common) < 10:
        raise MMXError(f"the two sets share {len(common)} trailer ids; a comparison needs at least 10")
    map_a, map_b = map_data(a, projection, min_cluster_size), map_data(b, projection, min_cluster_size)
    fa, fb = map_a.frame.set_index("id"), map_b.frame.set_index("id")
    table = fa.loc[common, ["display_title", "year", "genres", "cluster", "x", "y"]].rename(
        columns={"cluster": "cluster_a", "x": "x_a", "y": "y_a"})
    table[["cluster_b", "x_b", "y_b"]] = fb.loc[common, ["cluster", "x", "y"]].to_numpy()
    result = pipeline.comparison(a, b, k=k, cluster_params={"min_cluster_size": min_cluster_size},
                                 projection_params={"method": projection})
    table["jaccard"] = result.table.set_index("id")["jaccard"].reindex(common).to_numpy()
    if result.aligned is not None:
        aligned = result.aligned.set_index("id").reindex(common)
        table[["x_a", "y_a", "x_b", "y_b"]] = aligned[["x_a", "y_a", "x_b", "y_b"]].to_numpy()
    table["cluster_b"] = table["cluster_b"].astype(int)
    table = table.reset_index().rename(columns={"index": "id"})
    transitions = (table.groupby(["cluster_a", "cluster_b"]).size().rename("count").reset_index())
    labels_a = dict(zip(map_a.summaries["cluster"], map_a.summaries["label"]))
    labels_b = dict(zip(map_b.summaries["cluster"], map_b.summaries["label"]))
    table["label_a"] = [labels_a.get(c, "noise") for c in table["cluster_a"]]
    table["label_b"] = [labels_b.get(c, "noise") for c in table["cluster_b"]]
    summary = {"trailers": int(len(common)), "k": k, "mean_jaccard": float(table["jaccard"].mean())}
    return Comparison(table, transitions, summary, _split_example(transitions, labels_a, labels_b), labels_a, labels_b)


def _split_example(transitions: pd.DataFrame, labels_a: dict, labels_b: dict) -> dict:
    """The coarse cluster (not noise) whose members spread most evenly over several fine clusters."""
    real = transitions[(transitions["cluster_a"] >= 0) & (transitions["cluster_b"] >= 0)]
    best, best_score = None, 0.0
    for cluster, group in real.groupby("cluster_a"):
        share = group["count"] / group["count"].sum()
        score = (1 - (share ** 2).sum()) * np.log1p(group["count"].sum())
        if len(group) >= 2 and score > best_score:
            best, best_score = cluster, score
    if best is None:
        return {}
    group = real[real["cluster_a"] == best].sort_values("count", ascending=False)
    return {"cluster_a": int(best), "label_a": labels_a.get(best, str(best)),
            "targets": [(int(c), labels_b.get(c, str(c)), int(n)) for c, n in zip(group["cluster_b"], group["count"])]}
