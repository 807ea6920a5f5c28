"""New points into an existing UMAP map: UMAP's transform computed from plain arrays.

The map's training vectors and coordinates are all it needs, so a map read back from disk
takes new trailers too (:func:`mmx_core.explore.cached_map.place`), and a map fitted on a
sample of a large collection places the other rows the same way (:mod:`.scale`).

The neighbour search over the training rows is built once per call and the new rows are placed
in chunks of :data:`PLACE_CHUNK` (bounding the memory of one layout step). Epochs follow
umap-learn's ``transform`` when the caller passes
:func:`~mmx_core.explore.scale.transform_epochs` (a third of the fit's).
"""

from __future__ import annotations

import numpy as np

from mmx_core.explore import faiss_index
from mmx_core.explore.exact_knn import euclidean_topk
from mmx_core.explore.scale import POLICY

__all__ = ["place_points", "EXACT_PLACE_MAX", "PLACE_CHUNK"]

EXACT_PLACE_MAX = 200_000
"""Largest map whose transform finds neighbours exactly (as every shipped map does)."""

PLACE_CHUNK = 200_000
"""New rows laid out by one optimisation (bounds its memory)."""


def place_points(train: np.ndarray, train_map: np.ndarray, new: np.ndarray, n_neighbors: int = 15,
                 min_dist: float = 0.1, spread: float = 1.0, n_epochs: int = 100, seed: int = 0,
                 knn: str = "auto") -> np.ndarray:
    """UMAP's transform from plain arrays: put ``new`` rows into an existing map.

    ``knn`` finds each new row's neighbours among ``train``: ``"exact"`` (torch), a faiss kind
    (``"hnsw"``, ``"ivf"``), or ``"auto"``: exact up to :data:`EXACT_PLACE_MAX` training rows.

    Parameters
    ----------
    train : ndarray of shape (n, d)
        The (reduced) vectors the map was made from.
    train_map : ndarray of shape (n, c)
        Their map coordinates; they do not move.
    new : ndarray of shape (m, d)
        New vectors in the same space as ``train``.
    n_epochs : int
        Layout epochs (:func:`~mmx_core.explore.scale.transform_epochs` gives umap-learn's choice for a fitted map).

    Returns
    -------
    ndarray of shape (m, c)
    """
    k = min(n_neighbors, len(train))
    if knn == "auto":
        knn = "exact" if len(train) <= EXACT_PLACE_MAX else POLICY.knn_index
    search = _neighbour_search(train, k, knn, seed)
    train_map = np.ascontiguousarray(train_map, dtype=np.float32)
    out = np.empty((len(new), train_map.shape[1]), dtype=np.float32)
    for s in range(0, len(new), PLACE_CHUNK):
        part = new[s:s + PLACE_CHUNK]
        idx, dists = search(part)
        out[s:s + len(part)] = _layout(idx, dists, train_map, k, min_dist, spread, n_epochs, seed)
    return out


def _neighbour_search(train: np.ndarray, k: int, knn: str, seed: int):
    """A function from query rows to their ``k`` nearest training rows: (indices int32, distances float32)."""
    if knn == "exact":
        def exact(queries):
            idx, dists = euclidean_topk(queries, train, k)
            return idx.astype(np.int32), dists

        return exact

    index = faiss_index.build(np.ascontiguousarray(train, dtype=np.float32), knn, "l2", seed=seed)
    faiss_index.set_search_params(index, ef_search=max(128, k))

    def approximate(queries):
        idx, sq = faiss_index.search(index, queries, k)
        return idx.astype(np.int32), np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)

    return approximate


def _layout(idx: np.ndarray, dists: np.ndarray, train_map: np.ndarray, k: int, min_dist: float, spread: float,
            n_epochs: int, seed: int) -> np.ndarray:
    """umap-learn's transform layout of rows whose neighbours among the map's rows are ``idx`` at ``dists``."""
    import scipy.sparse
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import (compute_membership_strengths, find_ab_params, init_graph_transform,
                            make_epochs_per_sample, smooth_knn_dist)

    sigmas, rhos = smooth_knn_dist(dists, float(k), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(idx, dists, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(idx), len(train_map)))
    csr = graph.tocsr()
    csr.eliminate_zeros()
    embedding = np.ascontiguousarray(init_graph_transform(csr, train_map), dtype=np.float32)
    graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
    graph.eliminate_zeros()
    a, b = find_ab_params(spread, min_dist)
    rng_state = np.random.RandomState(seed).randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1, 3)
    embedding = optimize_layout_euclidean(
        embedding, train_map.copy(), graph.row, graph.col, n_epochs, len(train_map),
        make_epochs_per_sample(graph.data, n_epochs), a, b, rng_state.astype(np.int64), 1.0, 0.25, 5, False)
    return np.asarray(embedding, dtype=np.float32)
