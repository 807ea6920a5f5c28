"""Large 2-D UMAP maps from a warm start (issue 20): fit a sample, interpolate the rest, refine every row.

Between :attr:`WarmStart.above` rows and :attr:`ScalePolicy.sample_fit_above <mmx_core.explore.scale.ScalePolicy>`
rows a 2-D UMAP map (the app's and the CLI's map) is made in three steps instead of one full fit:

1. **sample**: UMAP with the projector's own parameters on :attr:`WarmStart.sample` rows drawn with its
   seed (their neighbour graph exact, as for any set of that size);
2. **interpolate**: every other row starts at the inverse-distance weighted mean of the map positions of
   its :attr:`WarmStart.place_neighbors` nearest sample rows (exact faiss search over the sample);
3. **refine**: UMAP over all rows from that layout, on a neighbour graph of all rows from a faiss index
   (:attr:`WarmStart.knn_index`, IVF by default), in :data:`REFINE_EPOCHS` epochs at
   :data:`REFINE_LEARNING_RATE`: the epochs and rate umap-learn's own ``transform`` places new points
   with in a map of that size, but moving every row on its own graph.

The full fit's cost is an exact neighbour graph that grows as n^2 plus epochs over every row; here the
graph is approximate (IVF over the 50 PCA dimensions) and most epochs run on the sample. Below
:attr:`WarmStart.above` rows nothing changes (no plan, the same cache keys: the published set and the
shipped maps); above the sample-fit limit the map keeps its sampled fit + transform path. Figures:
docs/scale.md ("The 2-D map alone"), ``python -m benchmarks map2d``.
"""

from __future__ import annotations

import warnings

import numpy as np

from mmx_core.base.params import Params
from mmx_core.base.constraints import Choice, Int, ParameterError, check_params
from mmx_core.explore import faiss_index

__all__ = ["WarmStart", "WARM", "NO_WARM_START", "REFINE_EPOCHS", "REFINE_LEARNING_RATE", "refine_epochs", "warm_plan",
           "interpolate", "warm_layout", "umap_fit"]

REFINE_EPOCHS = 30
"""Epochs of the refinement (at most the fit's own): as many as umap-learn's ``transform`` runs on a map of
more than 10,000 rows fitted with its default epochs. On the tuning set (generated, seed 101, 100,000 x 1024)
20, 30 and 50 gave the same trustworthiness; each epoch over every row costs about as much as the sample's
fit spends on five."""

REFINE_LEARNING_RATE = 0.25
"""Learning rate of the refinement: a quarter of umap-learn's default 1.0, the rate of its ``transform``."""


def refine_epochs(fit_epochs: int | None) -> int:
    """Epochs of the refinement after a sample fit of ``fit_epochs`` (None: umap-learn's default)."""
    return REFINE_EPOCHS if fit_epochs is None else max(1, min(REFINE_EPOCHS, int(fit_epochs)))


class WarmStart(Params):
    """When and how a large 2-D UMAP map is warm-started (see the module docstring).

    Parameters
    ----------
    above : int or None
        Maps of more rows (and at most ``ScalePolicy.sample_fit_above``) are warm-started; None: never.
    sample : int
        Rows of the sample fitted first (fewer than ``above``).
    place_neighbors : int
        Nearest sample rows each other row's starting position is interpolated from.
    knn_index : {"ivf", "hnsw", "exact"}
        faiss index of the neighbour graph of all rows (IVF: deterministic for a seed, unlike a
        multi-threaded HNSW build).

    Examples
    --------
    >>> WarmStart().get_params()
    {'above': 50000, 'sample': 20000, 'place_neighbors': 5, 'knn_index': 'ivf'}
    """

    def __init__(self, above: int | None = 50_000, sample: int = 20_000, place_neighbors: int = 5,
                 knn_index: str = "ivf"):
        self.above = above
        self.sample = sample
        self.place_neighbors = place_neighbors
        self.knn_index = knn_index

    def validate(self) -> "WarmStart":
        check_params(self, above=Int(3, none=True), sample=Int(2))
        if self.above is not None and self.sample >= self.above:
            raise ParameterError("sample", self.sample, f"below above={self.above} (the sample is drawn from a "
                                 "larger set)")
        return check_params(self, place_neighbors=Int(1), knn_index=Choice(("ivf", "hnsw", "exact")))


WARM = WarmStart()
"""The warm start in force (the defaults of :class:`WarmStart`)."""

NO_WARM_START = WarmStart(above=None)
"""Never warm-started: the clustering space, whose plan (:func:`~mmx_core.explore.scale.cluster_plan`) has none."""


def warm_plan(n: int, seed: int, fit_epochs: int | None, warm: WarmStart = WARM) -> dict | None:
    """The scale plan of a warm-started 2-D map of ``n`` rows, or None when ``n`` is not above ``warm.above``.

    Keys: ``fit`` ("warm-start"), ``fit_rows`` (the sample), ``knn`` ("faiss-<index>", the graph of all
    rows), ``sample_seed``, ``refine_epochs``, ``refine_learning_rate`` and ``warm_start`` (its parameters).
    """
    if warm.above is None or n <= warm.above:
        return None
    return {"fit": "warm-start", "fit_rows": int(warm.sample), "knn": f"faiss-{warm.knn_index}",
            "sample_seed": int(seed), "refine_epochs": refine_epochs(fit_epochs),
            "refine_learning_rate": REFINE_LEARNING_RATE, "warm_start": warm.get_params()}


def interpolate(sample: np.ndarray, sample_map: np.ndarray, new: np.ndarray, k: int) -> np.ndarray:
    """Starting positions of ``new`` rows: the inverse-distance weighted mean of the map positions of their
    ``k`` nearest ``sample`` rows (exact Euclidean search).

    Parameters
    ----------
    sample : ndarray of shape (m, d)
    sample_map : ndarray of shape (m, c)
    new : ndarray of shape (q, d)

    Returns
    -------
    ndarray of shape (q, c), float32
    """
    k = min(int(k), len(sample))
    index = faiss_index.build(np.ascontiguousarray(sample, dtype=np.float32), "exact", "l2")
    idx, sq = faiss_index.search(index, np.ascontiguousarray(new, dtype=np.float32), k)
    weight = 1.0 / (np.sqrt(np.maximum(sq, 0.0)) + 1e-6)
    weight /= weight.sum(axis=1, keepdims=True)
    return np.einsum("qk,qkc->qc", weight, np.asarray(sample_map, dtype=np.float32)[idx]).astype(np.float32)


def warm_layout(Z: np.ndarray, rows: np.ndarray, sample_map: np.ndarray, knn: tuple, *, n_neighbors: int,
                min_dist: float, epochs: int, seed: int, place_neighbors: int) -> np.ndarray:
    """Steps 2 and 3: interpolate the rows not in ``rows`` from ``sample_map``, then refine all rows.

    Parameters
    ----------
    Z : ndarray of shape (n, d)
        The (reduced) vectors of every row.
    rows : ndarray of shape (m,)
        The sample's rows of ``Z``, in the order of ``sample_map`` (shape (m, c)).
    knn : tuple (indices, distances)
        Neighbour graph of all rows, umap-learn's layout (each row first).

    Returns
    -------
    ndarray of shape (n, c), float32
    """
    start = np.empty((len(Z), sample_map.shape[1]), dtype=np.float32)
    rest = np.setdiff1d(np.arange(len(Z)), rows, assume_unique=True)
    start[rows] = sample_map
    start[rest] = interpolate(Z[rows], sample_map, Z[rest], place_neighbors)
    return umap_fit(Z, knn, n_components=sample_map.shape[1], n_neighbors=n_neighbors, min_dist=min_dist,
                    n_epochs=epochs, init=start, seed=seed, learning_rate=REFINE_LEARNING_RATE)


def umap_fit(Z: np.ndarray, knn: tuple, *, n_components: int, n_neighbors: int, min_dist: float,
             n_epochs: int | None, init, seed: int, learning_rate: float = 1.0) -> np.ndarray:
    """umap-learn on ``Z`` (Euclidean) with a precomputed neighbour graph ``knn`` (indices, distances); the one
    place the CPU maps call it. Returns ndarray of shape (n, n_components), float32."""
    import umap

    model = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, metric="euclidean",
                      n_epochs=n_epochs, init=init, random_state=seed, learning_rate=learning_rate,
                      precomputed_knn=(*knn, None))
    with warnings.catch_warnings():
        quiet = ".*(knn_search_index|n_jobs|force_all_finite|ensure_all_finite).*"
        warnings.filterwarnings("ignore", message=quiet)
        Y = model.fit_transform(Z)
    return np.asarray(Y, dtype=np.float32)
