"""The reduction every map and clustering starts from: unit rows (cosine), then PCA, memoised per process.

A map and a clustering of the same vectors in one process share the reduction and the neighbour graph
(:func:`memo`), which matters above a hundred thousand rows.
"""

from __future__ import annotations

import threading

import numpy as np

from mmx_core.explore.checks import unit_rows

__all__ = ["reduce_vectors", "fit_pca", "memo"]

_MEMO: dict = {}
_LOCK = threading.Lock()


def memo(key, compute, keep=None, store: dict = _MEMO, size: int = 4):
    """Tiny per-process memo: ``compute()`` kept under ``key`` in ``store``, the oldest of ``size`` entries
    dropped first. By default a map and a clustering of the same vectors share their PCA reduction and
    neighbour graph this way; ``keep`` holds the object whose id() is in the key.

    The app's sessions call it from several threads: the stores change under one lock, and ``compute`` runs
    outside it (two threads missing the same key at once both compute it; one result is kept)."""
    with _LOCK:
        if key in store:
            return store[key][0]
    value = compute()
    with _LOCK:
        if key not in store:
            while len(store) >= size:
                store.pop(next(iter(store)))
            store[key] = (value, keep)
    return value


def reduce_vectors(X: np.ndarray, metric: str, pca_dims: int | None, seed: int):
    """Unit rows (for cosine), then PCA to ``pca_dims`` when there are more dimensions.

    Returns ``(Z, pca)`` with ``pca`` None when no reduction was applied. Memoised per
    process on the content of ``X`` and the parameters.
    """
    from mmx_core.base.artefacts import array_hash

    key = ("reduce", array_hash(X), metric, pca_dims, seed)
    return memo(key, lambda: _reduce(X, metric, pca_dims, seed))


def _reduce(X: np.ndarray, metric: str, pca_dims: int | None, seed: int):
    Z = unit_rows(X) if metric == "cosine" else np.ascontiguousarray(X, dtype=np.float32)
    if pca_dims is None or Z.shape[1] <= pca_dims or len(Z) <= pca_dims:
        return Z, None
    pca = fit_pca(Z, pca_dims, seed)
    return pca.transform(Z).astype(np.float32), pca


def fit_pca(Z: np.ndarray, n_components: int, seed: int):
    from sklearn.decomposition import PCA

    sample = Z
    if len(Z) > 200_000:  # the principal axes are settled long before a million rows
        sample = Z[np.random.default_rng(seed).choice(len(Z), 200_000, replace=False)]
    if len(sample) > 2 * sample.shape[1]:
        solver = "covariance_eigh"  # exact, and the fastest when rows far outnumber dimensions
    else:
        solver = "randomized" if min(sample.shape) > 4 * n_components else "full"
    return PCA(n_components=n_components, svd_solver=solver, random_state=seed).fit(sample)
