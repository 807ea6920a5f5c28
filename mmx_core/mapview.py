"""What the app's map, trailer and compare views need, assembled from the exploration pipeline.

The app calls these functions; they call :mod:`mmx_core.explore.pipeline`
(cached on disk) and join the results with each set's metadata into the
tables the pages show. When the exploration package cannot be imported the
functions fall back to exact, simple computations (PCA, HDBSCAN on the 2-D
map, exact cosine neighbours) so the app stays usable; :attr:`MapData.note`
says so.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .embeddings import EmbeddingSet
from .errors import MMXError

__all__ = ["MapData", "map_data", "neighbour_table", "side_by_side", "selected_rows", "cluster_members",
           "Comparison", "compare_sets", "genre_share"]

log = logging.getLogger(__name__)

NOISE = -1


def _pipeline():
    """The exploration pipeline module, or None while it is unavailable."""
    try:
        module = importlib.import_module("mmx_core.explore.pipeline")
    except Exception as exc:  # noqa: BLE001 - any import failure means "use the fallback"
        log.info("exploration pipeline unavailable (%s); using the app's fallback", exc)
        return None
    return module if hasattr(module, "projection") else None


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
        Caveat to show (e.g. a fallback was used).
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
    pipeline = _pipeline()
    frame = _base_frame(emb)
    if pipeline is not None:
        xy = pipeline.projection(emb, method=projection, **(projection_params or {}))
        clusters = pipeline.clusters(emb, min_cluster_size=min_cluster_size)
        frame = frame.merge(xy[["id", "x", "y"]], on="id", how="left")
        frame = frame.merge(clusters.table[["id", "cluster", "probability"]], on="id", how="left")
        frame["cluster"] = frame["cluster"].fillna(NOISE).astype(int)
        summaries = _summaries_from_pipeline(clusters.summaries, frame)
        note = ""
    else:
        xy = _fallback_projection(emb.content_hash, emb.normalized())
        frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
        labels = _fallback_clusters(emb.content_hash, xy, min_cluster_size)
        frame["cluster"], frame["probability"] = labels, np.where(labels >= 0, 1.0, 0.0)
        summaries = _fallback_summaries(frame)
        note = (f"The exploration pipeline is not available yet: the map shows PCA (not {projection.upper()}) "
                "and HDBSCAN on the 2-D map." if projection != "pca" else
                "The exploration pipeline is not available yet: clusters are HDBSCAN on the 2-D map.")
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


_FALLBACK: dict[tuple, np.ndarray] = {}


def _fallback_projection(key: str, unit: np.ndarray) -> np.ndarray:
    if ("pca", key) not in _FALLBACK:
        centred = unit - unit.mean(axis=0)
        _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 5000)], full_matrices=False)
        _FALLBACK[("pca", key)] = (centred @ vt[:2].T).astype(np.float32)
    return _FALLBACK[("pca", key)]


def _fallback_clusters(key: str, xy: np.ndarray, min_cluster_size: int) -> np.ndarray:
    if ("hdbscan", key, min_cluster_size) not in _FALLBACK:
        from sklearn.cluster import HDBSCAN

        _FALLBACK[("hdbscan", key, min_cluster_size)] = HDBSCAN(min_cluster_size=min_cluster_size).fit(xy).labels_
    return _FALLBACK[("hdbscan", key, min_cluster_size)]


def genre_share(genre_lists) -> pd.Series:
    """Share of trailers tagged with each genre (a trailer counts once per genre)."""
    counts = pd.Series([g for genres in genre_lists for g in genres], dtype=object).value_counts()
    return (counts / max(1, len(genre_lists))).sort_values(ascending=False)


def _fallback_summaries(frame: pd.DataFrame) -> pd.DataFrame:
    overall = genre_share(frame["genre_list"])
    rows = []
    for cluster, members in frame[frame["cluster"] >= 0].groupby("cluster"):
        lift = (genre_share(members["genre_list"]) / overall).dropna().sort_values(ascending=False)
        top = [g for g in lift.index if lift[g] > 1][:3]
        rows.append({
            "cluster": int(cluster), "label": f"{cluster}: " + (" / ".join(top[:2]) if top else "mixed"),
            "size": len(members), "genres": ", ".join(f"{g} ×{lift[g]:.1f}" for g in top),
            "typical": "; ".join(members["display_title"].head(3)),
            "x": float(members["x"].median()), "y": float(members["y"].median()),
        })
    return _summary_frame(rows)


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
    pipeline = _pipeline()
    if pipeline is not None and hasattr(pipeline, "neighbours"):
        table = pipeline.neighbours(emb, trailer_id, k=k)[["id", "score"]].copy()
    else:
        unit = _unit(emb)
        scores = unit @ unit[row]
        scores[row] = -np.inf
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[np.argsort(-scores[top])]
        table = pd.DataFrame({"id": emb.ids[top].astype(str), "score": scores[top].astype(float)})
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


_UNIT: dict[str, np.ndarray] = {}


def _unit(emb: EmbeddingSet) -> np.ndarray:
    key = emb.content_hash
    if key not in _UNIT:
        if len(_UNIT) > 4:
            _UNIT.clear()
        _UNIT[key] = emb.normalized()
    return _UNIT[key]


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


def compare_sets(a: EmbeddingSet, b: EmbeddingSet, k: int = 10, min_cluster_size: int = 30,
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
    pipeline = _pipeline()
    if pipeline is not None and hasattr(pipeline, "comparison"):
        result = pipeline.comparison(a, b, k=k, cluster_params={"min_cluster_size": min_cluster_size},
                                     projection_params={"method": projection})
        table["jaccard"] = result.table.set_index("id")["jaccard"].reindex(common).to_numpy()
        if result.aligned is not None:
            aligned = result.aligned.set_index("id").reindex(common)
            table[["x_a", "y_a", "x_b", "y_b"]] = aligned[["x_a", "y_a", "x_b", "y_b"]].to_numpy()
    else:
        table["jaccard"] = _jaccard(a, b, common, k)
    table["cluster_b"] = table["cluster_b"].astype(int)
    table = table.reset_index().rename(columns={"index": "id"})
    transitions = (table.groupby(["cluster_a", "cluster_b"]).size().rename("count").reset_index())
    labels_a = dict(zip(map_a.summaries["cluster"], map_a.summaries["label"]))
    labels_b = dict(zip(map_b.summaries["cluster"], map_b.summaries["label"]))
    table["label_a"] = [labels_a.get(c, "noise") for c in table["cluster_a"]]
    table["label_b"] = [labels_b.get(c, "noise") for c in table["cluster_b"]]
    summary = {"trailers": int(len(common)), "k": k, "mean_jaccard": float(table["jaccard"].mean())}
    return Comparison(table, transitions, summary, _split_example(transitions, labels_a, labels_b), labels_a, labels_b)


def _jaccard(a: EmbeddingSet, b: EmbeddingSet, common: np.ndarray, k: int) -> np.ndarray:
    sets = []
    for emb in (a, b):
        rows = np.array([emb.index_of(t) for t in common])
        unit = emb.normalized()[rows]
        nn = np.empty((len(rows), k), dtype=np.int64)
        for start in range(0, len(rows), 2048):
            sims = unit[start:start + 2048] @ unit.T
            np.fill_diagonal(sims[:, start:start + 2048], -np.inf)
            nn[start:start + 2048] = np.argpartition(-sims, k, axis=1)[:, :k]
        sets.append(nn)
    inter = np.array([len(np.intersect1d(x, y)) for x, y in zip(*sets)])
    return inter / (2 * k - inter)


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
