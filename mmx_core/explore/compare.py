"""Compare two embeddings of the same trailers (e.g. the coarse and the fine encoder).

The paper's claim is that fine-tuning breaks coarse genre clusters into finer
ones. :func:`compare_spaces` measures that per trailer and per cluster:

- Jaccard overlap of each trailer's k-nearest-neighbour sets in both spaces (through a faiss
  index per space: exact up to ``NeighbourIndex.exact_max`` trailers, approximate above, where
  every row is searched scanning :data:`ALL_ROWS_PROBE` lists; the scale benchmark measures the
  recall of that search);
- "movers": trailers whose neighbourhood changed most, with both neighbour lists;
- the cluster transition table (coarse cluster -> fine cluster, counts), ready for
  a Sankey diagram, and so what each coarse cluster splits into;
- map B rotated, scaled and shifted onto map A (orthogonal Procrustes) with the
  remaining error, so a trailer sits at a comparable place in both maps.

Rows must already be aligned (same ids, same order): :func:`mmx_core.explore.cached_comparison.comparison`
matches ids, reports those present in only one set and adds each space's cluster summaries.
:class:`SpaceComparison` is the one comparison result: the ``compare`` command prints its
summary and the app's Compare page draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmx_core.base.errors import MMXError
from mmx_core.base.constraints import Int
from mmx_core.explore.checks import check_vectors
from mmx_core.explore.neighbours import NeighbourIndex

__all__ = ["SpaceComparison", "compare_spaces", "knn_jaccard", "procrustes_align", "transition_table",
           "MIN_SHARED_IDS", "SUMMARY_KEYS", "ALL_ROWS_PROBE"]

MIN_SHARED_IDS = 10
"""Fewest trailers two spaces must share to be compared."""

ALL_ROWS_PROBE = 8
"""IVF lists scanned per row when a comparison searches every row of a large space (a quarter of a single
query's default: the comparison averages over all rows, a click shows one row's neighbours)."""

SUMMARY_KEYS = ("n", "k", "jaccard_mean", "jaccard_median", "n_clusters_a", "n_clusters_b", "ari")
"""The headline figures of a comparison (``compare --json``), in the order they are shown."""


@dataclass
class SpaceComparison:
    """Two embeddings of the same trailers compared: the result of :func:`compare_spaces`
    and :func:`mmx_core.explore.cached_comparison.comparison`.

    Attributes
    ----------
    summary : dict
        :data:`SUMMARY_KEYS` (``n`` shared trailers, ``k``, ``jaccard_mean``, ``jaccard_median``,
        ``n_clusters_a``, ``n_clusters_b``, ``ari``), ``procrustes_error`` (when maps were given),
        ``jaccard_histogram`` (counts in ten bins of 0.1); the pipeline adds ``only_in_a``,
        ``only_in_b`` (ids left out) and ``name_a``, ``name_b``.
    table : DataFrame
        ``id``, ``jaccard``, ``cluster_a``, ``cluster_b``.
    movers : DataFrame
        Lowest-Jaccard trailers first: ``id``, ``jaccard``, ``cluster_a``, ``cluster_b``,
        ``neighbours_a``, ``neighbours_b`` (lists of ids).
    transitions : DataFrame
        ``cluster_a``, ``cluster_b``, ``count``, ``share_of_a`` (share of cluster_a's trailers
        that went to cluster_b); -1 is noise. Sankey links.
    aligned : DataFrame
        ``id``, ``x_a``, ``y_a``, ``x_b``, ``y_b`` with map B aligned onto map A.
    summaries_a, summaries_b : list of ClusterSummary
        The clusters of each space (empty when the caller gave bare labels).
    """

    summary: dict
    table: pd.DataFrame
    movers: pd.DataFrame
    transitions: pd.DataFrame
    aligned: pd.DataFrame | None = None
    summaries_a: list = field(default_factory=list)
    summaries_b: list = field(default_factory=list)

    def labels(self, side: str, form: str = "label") -> dict[int, str]:
        """Cluster -> name in space ``side`` (``"a"`` or ``"b"``); ``form`` is ``label``, ``short_label``
        or ``legend_label``. Noise has no entry."""
        if side not in ("a", "b"):
            raise MMXError(f"side must be 'a' or 'b', got {side!r}")
        summaries = self.summaries_a if side == "a" else self.summaries_b
        return {int(s.cluster): str(getattr(s, form) or s.label) for s in summaries if s.cluster >= 0}

    def split_example(self) -> dict:
        """The cluster of A (not noise) whose members spread most evenly over several clusters of B.

        Returns ``{"cluster_a", "label_a", "targets": [(cluster_b, label_b, count), ...]}`` (largest
        first), or ``{}`` when no cluster of A splits.
        """
        real = self.transitions[(self.transitions["cluster_a"] >= 0) & (self.transitions["cluster_b"] >= 0)]
        best, best_score = None, 0.0
        for cluster, group in real.groupby("cluster_a"):
            share = group["count"] / group["count"].sum()
            score = (1 - (share ** 2).sum()) * np.log1p(group["count"].sum())
            if len(group) >= 2 and score > best_score:
                best, best_score = cluster, score
        if best is None:
            return {}
        labels_a, labels_b = self.labels("a"), self.labels("b")
        group = real[real["cluster_a"] == best].sort_values("count", ascending=False)
        return {"cluster_a": int(best), "label_a": labels_a.get(int(best), str(best)),
                "targets": [(int(c), labels_b.get(int(c), str(c)), int(n))
                            for c, n in zip(group["cluster_b"], group["count"])]}


def knn_jaccard(nn_a: np.ndarray, nn_b: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Jaccard similarity of row-wise neighbour sets (ndarray of shape (n, k) each) -> (n,)."""
    if nn_a.shape != nn_b.shape:
        raise MMXError(f"neighbour tables differ in shape: {nn_a.shape} vs {nn_b.shape}")
    k = nn_a.shape[1]
    out = np.empty(len(nn_a), dtype=np.float32)
    for s in range(0, len(nn_a), chunk):
        a, b = nn_a[s:s + chunk], nn_b[s:s + chunk]
        inter = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
        out[s:s + chunk] = inter / (2 * k - inter)
    return out


def procrustes_align(map_a: np.ndarray, map_b: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotate/reflect, scale and shift ``map_b`` onto ``map_a`` (least squares).

    Returns
    -------
    aligned : ndarray of shape (n, c)
        Map B in map A's frame.
    error : float
        Root-mean-square distance between the aligned B and A, relative to A's
        root-mean-square spread around its centre (0 = identical layouts, 1 = no
        better than putting every point at the centre).
    """
    A = np.asarray(map_a, dtype=np.float64)
    B = np.asarray(map_b, dtype=np.float64)
    if A.shape != B.shape:
        raise MMXError(f"maps differ in shape: {A.shape} vs {B.shape}; align maps of the same trailers")
    mean_a, mean_b = A.mean(axis=0), B.mean(axis=0)
    A0, B0 = A - mean_a, B - mean_b
    U, S, Vt = np.linalg.svd(B0.T @ A0)
    R = U @ Vt
    scale = S.sum() / max((B0 ** 2).sum(), 1e-300)
    aligned = scale * B0 @ R + mean_a
    spread = np.sqrt((A0 ** 2).sum(axis=1).mean())
    error = float(np.sqrt(((aligned - A) ** 2).sum(axis=1).mean()) / max(spread, 1e-300))
    return aligned.astype(np.float32), error


def transition_table(clusters_a: np.ndarray, clusters_b: np.ndarray) -> pd.DataFrame:
    """Counts of trailers per (cluster in A, cluster in B), with the share of A's cluster.

    Only the pairs that occur are counted; rows ordered by ``cluster_a``, then ``count``
    descending, then ``cluster_b``.
    """
    table = pd.DataFrame({"cluster_a": np.asarray(clusters_a, dtype=np.int64),
                          "cluster_b": np.asarray(clusters_b, dtype=np.int64)}).value_counts().reset_index()
    table = table.sort_values(["cluster_a", "count", "cluster_b"], ascending=[True, False, True], ignore_index=True)
    table["share_of_a"] = table["count"] / table.groupby("cluster_a")["count"].transform("sum")
    return table


def compare_spaces(X_a, X_b, ids, k: int = 10, clusters_a=None, clusters_b=None, map_a=None, map_b=None,
                   n_movers: int = 50, backend: str = "auto", index_a: NeighbourIndex | None = None,
                   index_b: NeighbourIndex | None = None) -> SpaceComparison:
    """Compare two embeddings whose rows are the same trailers in the same order.

    Parameters
    ----------
    X_a, X_b : array-like of shape (n, d_a) and (n, d_b)
    ids : array-like of shape (n,)
    k : int
        Neighbourhood size of the Jaccard overlap.
    clusters_a, clusters_b : ndarray of shape (n,), optional
        Cluster labels in each space (-1 = noise).
    map_a, map_b : ndarray of shape (n, 2), optional
        Maps of each space, for the Procrustes alignment.
    index_a, index_b : NeighbourIndex, optional
        Indexes already built over ``X_a`` / ``X_b`` (a set's cached index); built here when None.
    """
    X_a = check_vectors(X_a, source="embeddings A", min_rows=MIN_SHARED_IDS, needed_for="a comparison")
    X_b = check_vectors(X_b, source="embeddings B", min_rows=MIN_SHARED_IDS, needed_for="a comparison")
    ids = np.asarray(ids).astype(str)
    if len(X_a) != len(X_b) or len(ids) != len(X_a):
        raise MMXError(f"A has {len(X_a)} rows, B {len(X_b)} and there are {len(ids)} ids; "
                       "match the trailers by id first (cached_comparison.comparison does)")
    Int(1, len(X_a) - 1).check("k", k)
    nn_a = _space_index(index_a, X_a, backend, "A").all_neighbours(k, ALL_ROWS_PROBE)
    nn_b = _space_index(index_b, X_b, backend, "B").all_neighbours(k, ALL_ROWS_PROBE)
    jac = knn_jaccard(nn_a, nn_b)
    ca = np.full(len(ids), -1) if clusters_a is None else np.asarray(clusters_a)
    cb = np.full(len(ids), -1) if clusters_b is None else np.asarray(clusters_b)
    table = pd.DataFrame({"id": ids, "jaccard": jac, "cluster_a": ca, "cluster_b": cb})
    order = _lowest(jac, n_movers)
    movers = table.iloc[order].reset_index(drop=True)
    movers["neighbours_a"] = [ids[nn_a[r]].tolist() for r in order]
    movers["neighbours_b"] = [ids[nn_b[r]].tolist() for r in order]
    transitions = transition_table(ca, cb)
    from sklearn.metrics import adjusted_rand_score

    summary = {
        "n": int(len(ids)), "k": int(k),
        "jaccard_mean": float(jac.mean()), "jaccard_median": float(np.median(jac)),
        "n_clusters_a": int(ca.max() + 1) if len(ca) else 0, "n_clusters_b": int(cb.max() + 1) if len(cb) else 0,
        "ari": float(adjusted_rand_score(ca, cb)),
        "jaccard_histogram": np.histogram(jac, bins=10, range=(0.0, 1.0))[0].tolist(),
    }
    aligned = None
    if map_a is not None and map_b is not None:
        map_a = np.asarray(map_a, dtype=np.float32)
        moved, error = procrustes_align(map_a, map_b)
        summary["procrustes_error"] = error
        aligned = pd.DataFrame({"id": ids, "x_a": map_a[:, 0], "y_a": map_a[:, 1],
                                "x_b": moved[:, 0], "y_b": moved[:, 1]})
    return SpaceComparison(summary, table, movers, transitions, aligned)


def _space_index(index: NeighbourIndex | None, X: np.ndarray, backend: str, side: str) -> NeighbourIndex:
    """The given index of one space (checked to cover its rows), or one built over ``X``."""
    if index is None:
        return NeighbourIndex(backend=backend).build(X)
    if index.n_samples_ != len(X) or index.n_features_in_ != X.shape[1]:
        raise MMXError(f"the index of {side} covers {index.n_samples_} x {index.n_features_in_} rows, not "
                       f"{len(X)} x {X.shape[1]}")
    return index


def _lowest(values: np.ndarray, m: int) -> np.ndarray:
    """Rows of the ``m`` lowest values, lowest first, ties by row (a partial sort for large sets)."""
    if m >= len(values):
        return np.argsort(values, kind="stable")
    cut = np.partition(values, m - 1)[m - 1]
    candidates = np.flatnonzero(values <= cut)
    return candidates[np.argsort(values[candidates], kind="stable")][:m]
