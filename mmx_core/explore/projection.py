"""2-D (or n-D) maps of an embedding space: UMAP, t-SNE and PCA behind one estimator.

Cosine-aware: rows are scaled to unit length first, so Euclidean distances between
them order pairs exactly as cosine similarity does. High-dimensional input is then
reduced by PCA to ``pca_dims`` (default 50) before UMAP / t-SNE: on the 7,594
published embeddings this costs no trustworthiness (docs/explore.md) and makes the
neighbour graph several times cheaper.

UMAP gets its neighbour graph from an exact blockwise torch search up to
``exact_knn_max`` rows (umap-learn's own NN-descent above), starts from a PCA
layout and runs 150 epochs by default; a map and a clustering of the same vectors
in one process share the PCA reduction and the neighbour graph.

New points are placed into a fitted UMAP map by :meth:`Projector.transform`
with UMAP's transform procedure computed from plain arrays (the reduced training
vectors and the map), so a map read back from disk can take new trailers too
(:func:`place_points`).

t-SNE is openTSNE's (FFT-accelerated gradients, multi-threaded, supports
``transform``); scikit-learn's Barnes-Hut t-SNE was slower on the published set
(docs/explore.md).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.params import Params
from mmx_core.explore._checks import check_choice, check_float, check_int, check_vectors, unit_rows
from mmx_core.explore.neighbours import exact_topk

__all__ = ["Projector", "place_points", "reduce_vectors"]

log = logging.getLogger(__name__)

METHODS = ("umap", "tsne", "pca")
METRICS = ("cosine", "euclidean")
INITS = ("pca", "spectral", "random")


class Projector(Params):
    """Project embeddings to a low-dimensional map.

    Parameters
    ----------
    method : {"umap", "tsne", "pca"}
        Projection algorithm.
    n_components : int
        Output dimensions (2 for a map, 10 for clustering).
    metric : {"cosine", "euclidean"}
        Distance in the input space; "cosine" scales rows to unit length first.
    seed : int
        Random seed; the same seed gives the same map.
    n_neighbors : int
        UMAP neighbourhood size.
    min_dist : float
        UMAP minimum distance between points in the map (0 packs clusters tightly).
    n_epochs : int or None
        UMAP optimisation epochs; None uses umap-learn's default (500 below 10,000 points,
        else 200). 150 with PCA initialisation kept trustworthiness on the published set.
    init : {"pca", "spectral", "random"}
        Initial layout (UMAP; t-SNE always starts from PCA). The spectral layout cost
        more than the 150 epochs on the published set and bought no trustworthiness.
    perplexity : float
        t-SNE perplexity; needs more than ``3 * perplexity`` points.
    pca_dims : int or None
        Reduce to this many principal components first when the input has more
        dimensions (ignored for ``method="pca"``); None projects the input directly.
    exact_knn_max : int
        Largest set whose UMAP neighbour graph is computed exactly.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The map (float32).
    reduced_ : ndarray of shape (n_samples, n_reduced)
        The vectors UMAP / t-SNE worked on (unit rows, possibly PCA-reduced).
    pca_ : sklearn PCA or None
        The pre-reduction (or, for ``method="pca"``, the projection itself).
    n_features_in_ : int

    Examples
    --------
    >>> Y = Projector(method="umap", seed=0).fit_transform(X)   # (n, 2)
    >>> Projector.METHODS, Projector.defaults()["n_neighbors"]
    (('umap', 'tsne', 'pca'), 15)
    """

    METHODS = METHODS
    METRICS = METRICS
    INITS = INITS

    def __init__(self, method: str = "umap", n_components: int = 2, metric: str = "cosine", seed: int = 0,
                 n_neighbors: int = 15, min_dist: float = 0.1, n_epochs: int | None = 150, init: str = "pca",
                 perplexity: float = 30.0, pca_dims: int | None = 50, exact_knn_max: int = 200_000):
        self.method = method
        self.n_components = n_components
        self.metric = metric
        self.seed = seed
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.n_epochs = n_epochs
        self.init = init
        self.perplexity = perplexity
        self.pca_dims = pca_dims
        self.exact_knn_max = exact_knn_max

    def validate(self) -> "Projector":
        """Check every parameter (:class:`MMXError` naming the bad one); returns self."""
        check_choice("method", self.method, METHODS)
        check_choice("metric", self.metric, METRICS)
        check_int("n_components", self.n_components, 1)
        check_int("seed", self.seed, 0)
        check_int("n_neighbors", self.n_neighbors, 2)
        check_float("min_dist", self.min_dist, 0.0)
        check_int("n_epochs", self.n_epochs, 1, allow_none=True)
        check_choice("init", self.init, INITS)
        check_float("perplexity", self.perplexity, 0.0, low_open=True)
        check_int("pca_dims", self.pca_dims, 2, allow_none=True)
        check_int("exact_knn_max", self.exact_knn_max, 1)
        return self

    def _min_rows(self) -> tuple[int, str]:
        if self.method == "tsne":
            return int(3 * self.perplexity) + 1, f"t-SNE with perplexity {self.perplexity:g} (lower perplexity)"
        if self.method == "umap":
            return max(self.n_neighbors + 1, self.n_components + 2), \
                f"UMAP with n_neighbors={self.n_neighbors} (lower n_neighbors)"
        return self.n_components, f"PCA to {self.n_components} components"

    def fit(self, X, source=None) -> "Projector":
        """Fit on ``X`` (array-like of shape (n_samples, n_features)); returns self."""
        self.fit_transform(X, source=source)
        return self

    def fit_transform(self, X, source=None) -> np.ndarray:
        """Fit and return the map, ndarray of shape (n_samples, n_components)."""
        self.validate()
        min_rows, why = self._min_rows()
        X = check_vectors(X, source=source, min_rows=min_rows, needed_for=why, cosine=self.metric == "cosine")
        if self.n_components > X.shape[1]:
            raise MMXError(f"n_components={self.n_components} exceeds the {X.shape[1]} input dimensions")
        self.n_features_in_ = X.shape[1]
        if self.method == "pca":
            Z = unit_rows(X) if self.metric == "cosine" else X
            self.pca_ = _fit_pca(Z, self.n_components, self.seed)
            self.reduced_ = Z
            self.embedding_ = self.pca_.transform(Z).astype(np.float32)
            return self.embedding_
        self.reduced_, self.pca_ = reduce_vectors(X, self.metric, self.pca_dims, self.seed)
        if self.method == "umap":
            self.embedding_ = self._fit_umap(self.reduced_)
        else:
            self.embedding_ = self._fit_tsne(self.reduced_)
        return self.embedding_

    def _fit_umap(self, Z: np.ndarray) -> np.ndarray:
        import umap

        kwargs = {}
        if len(Z) <= self.exact_knn_max:
            self.knn_ = _memo(("knn", id(Z), self.n_neighbors), lambda: knn_graph(Z, self.n_neighbors), keep=Z)
            kwargs["precomputed_knn"] = (*self.knn_, None)
        model = umap.UMAP(n_components=self.n_components, n_neighbors=self.n_neighbors, min_dist=self.min_dist,
                          metric="euclidean", n_epochs=self.n_epochs, init=self.init, random_state=self.seed,
                          **kwargs)
        with warnings.catch_warnings():
            quiet = ".*(knn_search_index|n_jobs|force_all_finite|ensure_all_finite).*"
            warnings.filterwarnings("ignore", message=quiet)
            Y = model.fit_transform(Z)
        return np.asarray(Y, dtype=np.float32)

    def _fit_tsne(self, Z: np.ndarray) -> np.ndarray:
        from openTSNE import TSNE

        tsne = TSNE(n_components=self.n_components, perplexity=self.perplexity, metric="euclidean",
                    random_state=self.seed, n_jobs=-1, initialization="pca", verbose=False,
                    # FFT gradients pay off from about a thousand points; Barnes-Hut below (and above 2-D).
                    negative_gradient_method="fft" if self.n_components <= 2 and len(Z) >= 1000 else "bh")
        self._tsne = tsne.fit(Z)
        return np.asarray(self._tsne, dtype=np.float32)

    def transform(self, X_new) -> np.ndarray:
        """Place new points into the fitted map without moving the existing ones.

        Parameters
        ----------
        X_new : array-like of shape (m, n_features)

        Returns
        -------
        ndarray of shape (m, n_components)
        """
        if not hasattr(self, "embedding_"):
            raise MMXError("this Projector is not fitted yet; call fit_transform(X) first")
        X_new = check_vectors(X_new, source="new vectors", cosine=self.metric == "cosine")
        if X_new.shape[1] != self.n_features_in_:
            raise MMXError(f"new vectors have {X_new.shape[1]} dimensions; the map was fitted on "
                           f"{self.n_features_in_}")
        Z = unit_rows(X_new) if self.metric == "cosine" else X_new
        if self.method == "pca":
            return self.pca_.transform(Z).astype(np.float32)
        if self.pca_ is not None:
            Z = self.pca_.transform(Z).astype(np.float32)
        if self.method == "tsne":
            return np.asarray(self._tsne.transform(Z), dtype=np.float32)
        return place_points(self.reduced_, self.embedding_, Z, n_neighbors=self.n_neighbors,
                            min_dist=self.min_dist, seed=self.seed)


_MEMO: dict = {}


def _memo(key, compute, keep=None):
    """Tiny per-process memo (4 entries) so a map and a clustering of the same vectors share
    their PCA reduction and neighbour graph. ``keep`` holds the object whose id() is in the key."""
    if key in _MEMO:
        return _MEMO[key][0]
    value = compute()
    if len(_MEMO) >= 4:
        _MEMO.pop(next(iter(_MEMO)))
    _MEMO[key] = (value, keep)
    return value


def reduce_vectors(X: np.ndarray, metric: str, pca_dims: int | None, seed: int):
    """Unit rows (for cosine), then PCA to ``pca_dims`` when there are more dimensions.

    Returns ``(Z, pca)`` with ``pca`` None when no reduction was applied. Memoised per
    process on the content of ``X`` and the parameters.
    """
    from mmx_core.base.artefacts import array_hash

    key = ("reduce", array_hash(X), metric, pca_dims, seed)
    return _memo(key, lambda: _reduce(X, metric, pca_dims, seed))


def _reduce(X: np.ndarray, metric: str, pca_dims: int | None, seed: int):
    Z = unit_rows(X) if metric == "cosine" else np.ascontiguousarray(X, dtype=np.float32)
    if pca_dims is None or Z.shape[1] <= pca_dims or len(Z) <= pca_dims:
        return Z, None
    pca = _fit_pca(Z, pca_dims, seed)
    return pca.transform(Z).astype(np.float32), pca


def _fit_pca(Z: np.ndarray, n_components: int, seed: int):
    from sklearn.decomposition import PCA

    sample = Z
    if len(Z) > 200_000:  # the principal axes are settled long before a million rows
        sample = Z[np.random.default_rng(seed).choice(len(Z), 200_000, replace=False)]
    if len(sample) > 2 * sample.shape[1]:
        solver = "covariance_eigh"  # exact, and the fastest when rows far outnumber dimensions
    else:
        solver = "randomized" if min(sample.shape) > 4 * n_components else "full"
    return PCA(n_components=n_components, svd_solver=solver, random_state=seed).fit(sample)


def knn_graph(Z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k-NN of each row among all rows, itself first (umap-learn's layout).

    Returns ``(indices int32 (n, k), distances float32 (n, k))``.
    """
    k = min(k, len(Z))
    idx, dist = euclidean_topk(Z, Z, k)
    # Put each point first (ties at distance 0 may have put a duplicate ahead of it).
    rows = np.arange(len(Z))
    self_pos = idx == rows[:, None]
    has_self = self_pos.any(axis=1)
    for r in np.flatnonzero(~has_self | ~self_pos[:, 0]):
        others = idx[r][idx[r] != r][: k - 1]
        idx[r] = np.concatenate([[r], others])
        dist[r] = np.concatenate([[0.0], np.sqrt(np.maximum(((Z[others] - Z[r]) ** 2).sum(axis=1), 0))])
    dist[:, 0] = 0.0
    return idx.astype(np.int32), dist


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


def place_points(train: np.ndarray, train_map: np.ndarray, new: np.ndarray, n_neighbors: int = 15,
                 min_dist: float = 0.1, spread: float = 1.0, n_epochs: int = 100, seed: int = 0) -> np.ndarray:
    """UMAP's transform from plain arrays: put ``new`` rows into an existing map.

    Parameters
    ----------
    train : ndarray of shape (n, d)
        The (reduced) vectors the map was made from.
    train_map : ndarray of shape (n, c)
        Their map coordinates; they do not move.
    new : ndarray of shape (m, d)
        New vectors in the same space as ``train``.

    Returns
    -------
    ndarray of shape (m, c)
    """
    import scipy.sparse
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import (compute_membership_strengths, find_ab_params, init_graph_transform,
                            make_epochs_per_sample, smooth_knn_dist)

    k = min(n_neighbors, len(train))
    idx, dists = euclidean_topk(new, train, k)
    idx = idx.astype(np.int32)
    sigmas, rhos = smooth_knn_dist(dists, float(k), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(idx, dists, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(new), len(train)))
    csr = graph.tocsr()
    csr.eliminate_zeros()
    train_map = np.ascontiguousarray(train_map, dtype=np.float32)
    embedding = np.ascontiguousarray(init_graph_transform(csr, train_map), dtype=np.float32)
    graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
    graph.eliminate_zeros()
    a, b = find_ab_params(spread, min_dist)
    rng_state = np.random.RandomState(seed).randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1, 3)
    embedding = optimize_layout_euclidean(
        embedding, train_map.copy(), graph.row, graph.col, n_epochs, len(train),
        make_epochs_per_sample(graph.data, n_epochs), a, b, rng_state.astype(np.int64), 1.0, 0.25, 5, False)
    return np.asarray(embedding, dtype=np.float32)
