"""Exact k-nearest-neighbour kernels in torch: blockwise top-k of inner products.

The UMAP neighbour graphs of sets up to ``Projector.exact_knn_max`` rows (the published set
and every shipped map) come from :func:`knn_graph`; keeping this kernel keeps those maps,
and so the shipped cache, identical. Larger graphs come from faiss (:mod:`.faiss_index`).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["exact_topk", "drop_rows", "knn_graph", "self_first", "euclidean_topk"]


def exact_topk(queries: np.ndarray, base: np.ndarray, k: int, block_size: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products of ``queries`` against ``base``, blockwise.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, dim)
    base : ndarray of shape (n_base, dim), float32
    k : int
        Neighbours per query (at most ``n_base``).

    Returns
    -------
    indices : ndarray of shape (n_queries, k), int64
    scores : ndarray of shape (n_queries, k), float32, descending per row.
    """
    base_t = torch.from_numpy(np.ascontiguousarray(base))
    n_base = base_t.shape[0]
    take = min(k, n_base)
    out_i = np.empty((len(queries), take), dtype=np.int64)
    out_s = np.empty((len(queries), take), dtype=np.float32)
    # Large bases: bound the score block to about 256 MB.
    block = max(1, min(block_size, (64 << 20) // max(n_base, 1)))
    with torch.inference_mode():
        for start in range(0, len(queries), block):
            q = torch.from_numpy(np.ascontiguousarray(queries[start:start + block], dtype=np.float32))
            s, i = torch.topk(q @ base_t.T, take, dim=1)
            out_i[start:start + len(q)] = i.numpy()
            out_s[start:start + len(q)] = s.numpy()
    return out_i, out_s


def drop_rows(indices: np.ndarray, scores: np.ndarray, exclude: np.ndarray, k: int):
    """Remove ``exclude[r]`` from row r (or the last column when absent), keep ``k``."""
    hit = indices == exclude[:, None]
    missing = ~hit.any(axis=1)
    hit[missing, -1] = True
    keep = ~hit
    n = indices.shape[0]
    return indices[keep].reshape(n, -1)[:, :k], scores[keep].reshape(n, -1)[:, :k]


def knn_graph(Z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k-NN of each row among all rows, itself first (umap-learn's layout).

    Returns ``(indices int32 (n, k), distances float32 (n, k))``.
    """
    idx, dist = self_first(*euclidean_topk(Z, Z, min(k, len(Z))), Z)
    return idx.astype(np.int32), dist


def self_first(idx: np.ndarray, dist: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A k-NN table of the rows of ``Z`` among themselves (Euclidean ``dist``) with each row first at distance 0:
    ties at distance 0 may put a duplicate ahead of it, an approximate search may miss it. Missing entries (-1)
    stay for the caller. Changes and returns ``(idx, dist)``."""
    rows, k = np.arange(len(Z)), idx.shape[1]
    for r in np.flatnonzero(idx[:, 0] != rows):
        others = idx[r][(idx[r] != r) & (idx[r] >= 0)][: k - 1]
        idx[r, : len(others) + 1] = np.concatenate([[r], others])
        dist[r, : len(others) + 1] = np.concatenate(
            [[0.0], np.sqrt(np.maximum(((Z[others] - Z[r]) ** 2).sum(axis=1), 0))])
    dist[:, 0] = 0.0
    return idx, dist


def euclidean_topk(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k-NN of ``queries`` among ``base`` through the blockwise inner-product search.

    ||q-b||^2 = |q|^2 + |b|^2 - 2qb, so ranking by 2qb - |b|^2 ranks by distance; appending
    -|b|^2 to the base and 1 to the queries makes that one inner product.
    Returns ``(indices int64 (m, k), distances float32 (m, k))``.
    """
    sq_b = (base.astype(np.float64) ** 2).sum(axis=1)
    sq_q = (queries.astype(np.float64) ** 2).sum(axis=1)
    aug_base = np.hstack([2 * base, -sq_b[:, None]]).astype(np.float32)
    aug_query = np.hstack([queries, np.ones((len(queries), 1))]).astype(np.float32)
    idx, score = exact_topk(aug_query, aug_base, k)
    return idx, np.sqrt(np.maximum(sq_q[:, None] - score, 0.0)).astype(np.float32)
