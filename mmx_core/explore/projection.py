"""2-D (or n-D) maps of an embedding space: UMAP, t-SNE and PCA behind one estimator.

Cosine-aware: rows are scaled to unit length first, so Euclidean distances between
them order pairs exactly as cosine similarity does. High-dimensional input is then
reduced by PCA to ``pca_dims`` (default 50) before UMAP / t-SNE: on the 7,594
published embeddings this costs no trustworthiness (docs/explore.md) and makes the
neighbour graph several times cheaper.

UMAP gets its neighbour graph from an exact blockwise torch search up to
``exact_knn_max`` rows (umap-learn's own NN-descent above), starts from a PCA
layout and runs 150 epochs by default; a map and a clustering of the same vectors
in one process share the PCA reduction and the neighbour graph. A 2-D map of more than
``WarmStart.above`` rows is warm-started from a fit on a sample (:mod:`.warm_map`).

New points are placed into a fitted UMAP map by :meth:`Projector.transform`
with UMAP's transform procedure computed from plain arrays (the reduced training
vectors and the map), so a map read back from disk can take new trailers too
(:func:`place_points`).

t-SNE is openTSNE's (FFT-accelerated gradients, multi-threaded, supports
``transform``); scikit-learn's Barnes-Hut t-SNE was slower on the published set
(docs/explore.md). Only UMAP fits have a GPU path (``backend``, :mod:`.backends`).
"""

from __future__ import annotations

import logging

import numpy as np

from mmx_core.base.constraints import Choice, Int, Real, check_params
from mmx_core.base.errors import MMXError
from mmx_core.base.params import Params
from mmx_core.explore.backends import BACKENDS, DEFAULT_BACKEND, check_backend, cuml_umap, plan_for_backend, \
    resolve_backend
from mmx_core.explore import faiss_index
from mmx_core.explore.checks import check_vectors, unit_rows
from mmx_core.explore.exact_knn import knn_graph
from mmx_core.explore.placement import PLACE_CHUNK, place_points
from mmx_core.explore.reduction import fit_pca, memo, reduce_vectors
from mmx_core.explore.scale import POLICY, ScalePolicy, map_plan, sample_rows, transform_epochs
from mmx_core.explore.warm_map import WARM, WarmStart, umap_fit, warm_layout, warm_plan

__all__ = ["Projector"]

log = logging.getLogger(__name__)


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
    backend : {"auto", "cpu", "cuml"}
        Where UMAP runs: umap-learn on the CPU, or cuML on a GPU; ``"auto"`` is cuML when it
        imports and torch sees a GPU, else the CPU (:mod:`~mmx_core.explore.backends`). Other
        methods always run on the CPU.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The map (float32).
    reduced_ : ndarray of shape (n_samples, n_reduced)
        The vectors UMAP / t-SNE worked on (unit rows, possibly PCA-reduced).
    pca_ : sklearn PCA or None
        The pre-reduction (or, for ``method="pca"``, the projection itself).
    n_features_in_ : int
    backend_ : str
        The backend that ran: ``"cpu"`` or ``"cuml"``.

    Examples
    --------
    >>> Y = Projector(method="umap", seed=0).fit_transform(X)   # (n, 2)
    >>> Projector.METHODS, Projector.defaults()["n_neighbors"]
    (('umap', 'tsne', 'pca'), 15)
    """

    METHODS = ("umap", "tsne", "pca")
    METRICS = ("cosine", "euclidean")
    INITS = ("pca", "spectral", "random")

    def __init__(self, method: str = "umap", n_components: int = 2, metric: str = "cosine", seed: int = 0,
                 n_neighbors: int = 15, min_dist: float = 0.1, n_epochs: int | None = 150, init: str = "pca",
                 perplexity: float = 30.0, pca_dims: int | None = 50, exact_knn_max: int = 200_000,
                 backend: str = DEFAULT_BACKEND):
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
        self.backend = backend

    def validate(self) -> "Projector":
        """Check every parameter (:class:`MMXError` naming the bad one); returns self."""
        check_params(self, method=Choice(self.METHODS), metric=Choice(self.METRICS), n_components=Int(1),
                     seed=Int(0), n_neighbors=Int(2), min_dist=Real(0), n_epochs=Int(1, none=True),
                     init=Choice(self.INITS), perplexity=Real(0, low_open=True), pca_dims=Int(2, none=True),
                     exact_knn_max=Int(1), backend=Choice(BACKENDS))
        check_backend(self.backend)
        return self

    def resolved_backend(self) -> str:
        """``"cpu"`` or ``"cuml"``: the backend a fit runs on here (only UMAP has a cuML path)."""
        used = resolve_backend(self.backend)
        return used if self.method == "umap" else "cpu"

    def scale_plan(self, n: int, scale: ScalePolicy = POLICY, warm: WarmStart | None = None) -> dict | None:
        """How a map of ``n`` rows is made under the size limits ``scale`` (:func:`~mmx_core.explore.scale.map_plan`);
        a 2-D CPU UMAP map up to ``scale.sample_fit_above`` rows may be warm-started (:func:`.warm_plan`)."""
        if self.method == "umap" and self.n_components == 2 and n <= scale.sample_fit_above \
                and self.resolved_backend() == "cpu":
            plan = warm_plan(n, self.seed, self.n_epochs, (warm or WARM).validate())
            if plan is not None:
                return plan
        return map_plan(n, self.method, self.exact_knn_max, self.seed, scale, self.n_epochs)

    def _min_rows(self) -> tuple[int, str]:
        if self.method == "tsne":
            return int(3 * self.perplexity) + 1, f"t-SNE with perplexity {self.perplexity:g} (lower perplexity)"
        if self.method == "umap":
            return max(self.n_neighbors + 1, self.n_components + 2), \
                f"UMAP with n_neighbors={self.n_neighbors} (lower n_neighbors)"
        return self.n_components, f"PCA to {self.n_components} components"

    def fit(self, X, source=None, scale: ScalePolicy | None = None, warm: WarmStart | None = None) -> "Projector":
        """Fit on ``X`` (array-like of shape (n_samples, n_features)); returns self."""
        self.fit_transform(X, source=source, scale=scale, warm=warm)
        return self

    def fit_transform(self, X, source=None, scale: ScalePolicy | None = None,
                      warm: WarmStart | None = None) -> np.ndarray:
        """Fit and return the map, ndarray of shape (n_samples, n_components).

        ``scale`` holds the size limits of large collections (:data:`~mmx_core.explore.scale.POLICY`
        when None), ``warm`` those of warm-started 2-D maps (:data:`~mmx_core.explore.warm_map.WARM`
        when None); :attr:`plan_` says which path was taken.
        """
        self.validate()
        scale = (scale or POLICY).validate()
        min_rows, why = self._min_rows()
        X = check_vectors(X, source=source, min_rows=min_rows, needed_for=why, cosine=self.metric == "cosine")
        if self.n_components > X.shape[1]:
            raise MMXError(f"n_components={self.n_components} exceeds the {X.shape[1]} input dimensions")
        self.n_features_in_ = X.shape[1]
        self.backend_ = self.resolved_backend()
        self.plan_ = plan_for_backend(self.scale_plan(len(X), scale, warm), self.backend_)
        if self.method == "pca":
            Z = unit_rows(X) if self.metric == "cosine" else X
            self.pca_ = fit_pca(Z, self.n_components, self.seed)
            self.reduced_ = Z
            self.embedding_ = self.pca_.transform(Z).astype(np.float32)
            return self.embedding_
        self.reduced_, self.pca_ = reduce_vectors(X, self.metric, self.pca_dims, self.seed)
        fit = (self.plan_ or {}).get("fit")
        if fit == "sample+transform":
            self.embedding_ = self._fit_sample(self.reduced_, scale)
        elif fit == "warm-start":
            self.embedding_ = self._fit_warm(self.reduced_, (warm or WARM).validate())
        elif self.method == "umap":
            self.embedding_ = self._fit_umap(self.reduced_, scale)
        else:
            self.embedding_ = self._fit_tsne(self.reduced_)
        return self.embedding_

    def _fit_sample(self, Z: np.ndarray, scale: ScalePolicy) -> np.ndarray:
        """Fit on a seeded sample of rows, then place the others with the fitted map's transform."""
        rows = sample_rows(len(Z), scale.fit_sample, self.seed)
        rest = np.setdiff1d(np.arange(len(Z)), rows, assume_unique=True)
        sample = np.ascontiguousarray(Z[rows])
        Ys = self._fit_umap(sample, scale) if self.method == "umap" else self._fit_tsne(sample)
        Y = np.empty((len(Z), Ys.shape[1]), dtype=np.float32)
        Y[rows] = Ys
        if self.method == "umap":
            Y[rest] = self.place(sample, Ys, Z[rest], knn=scale.knn_index)
            return Y
        for s in range(0, len(rest), PLACE_CHUNK):
            part = rest[s:s + PLACE_CHUNK]
            Y[part] = np.asarray(self._tsne.transform(Z[part]), dtype=np.float32)
        return Y

    def _fit_warm(self, Z: np.ndarray, warm: WarmStart) -> np.ndarray:
        """UMAP on a seeded sample, the other rows interpolated, then every row refined (:mod:`.warm_map`)."""
        rows = sample_rows(len(Z), self.plan_["fit_rows"], self.seed)
        sample_map = self._fit_umap(np.ascontiguousarray(Z[rows]))
        knn = faiss_index.knn_graph(Z, self.n_neighbors, kind=warm.knn_index, seed=self.seed)
        return warm_layout(Z, rows, sample_map, knn, n_neighbors=self.n_neighbors, min_dist=self.min_dist,
                           epochs=self.plan_["refine_epochs"], seed=self.seed, place_neighbors=warm.place_neighbors)

    def _fit_umap(self, Z: np.ndarray, scale: ScalePolicy = POLICY) -> np.ndarray:
        if getattr(self, "backend_", "cpu") == "cuml":  # pragma: no cover - needs cuML and a GPU
            return cuml_umap(Z, self.n_components, self.n_neighbors, self.min_dist, self.n_epochs, self.init,
                             self.seed)
        if len(Z) <= self.exact_knn_max:
            self.knn_ = memo(("knn", id(Z), self.n_neighbors), lambda: knn_graph(Z, self.n_neighbors), keep=Z)
        else:
            self.knn_ = memo(("knn-faiss", id(Z), self.n_neighbors, scale.knn_index),
                              lambda: faiss_index.knn_graph(Z, self.n_neighbors, kind=scale.knn_index,
                                                            seed=self.seed), keep=Z)
        return umap_fit(Z, self.knn_, n_components=self.n_components, n_neighbors=self.n_neighbors,
                        min_dist=self.min_dist, n_epochs=self.n_epochs, init=self.init, seed=self.seed)

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
        return self.place(self.reduced_, self.embedding_, Z)

    def place(self, train: np.ndarray, train_map: np.ndarray, new: np.ndarray, knn: str = "auto") -> np.ndarray:
        """Put ``new`` (reduced) rows into a UMAP map of ``train`` made with these parameters: umap-learn's
        transform with this projector's neighbours, ``min_dist`` and seed, in :func:`transform_epochs` of its
        epochs (:func:`~mmx_core.explore.placement.place_points`; ``knn`` as there)."""
        return place_points(train, train_map, new, n_neighbors=self.n_neighbors, min_dist=self.min_dist,
                            n_epochs=transform_epochs(self.n_epochs, len(train)), seed=self.seed, knn=knn)
