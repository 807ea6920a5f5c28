"""Cosine nearest-neighbour search behind one tiny interface (``build`` / ``query``).

Backends
--------
``exact``
    Blockwise matrix product in torch over unit vectors, top-k per block. Exact,
    no build cost; memory is the vectors (float16 storage above ``float16_above``
    rows) plus one block of scores.
``nndescent``
    pynndescent's graph index (approximate). Its neighbour graph is stored as
    plain arrays (:meth:`NeighbourIndex.save`); loading re-seeds pynndescent with
    that graph instead of unpickling anything.
``ivf``
    An inverted-file index in torch: k-means centroids on a sample, each vector
    filed under its nearest centroid, a query scans the ``n_probe`` closest
    lists (kept in float32, grouped by list). Builds in about a minute at
    1,000,000 x 1024 and saves as plain arrays.
``auto``
    ``exact`` up to ``exact_max`` rows (default 200,000), ``ivf`` above.

Scores are cosine similarities (higher is nearer).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch

from mmx_core.base.artefacts import atomic_path
from mmx_core.base.errors import MMXError
from mmx_core.base.params import Params
from mmx_core.explore._checks import check_choice, check_int, check_vectors, unit_rows

__all__ = ["NeighbourIndex", "exact_topk", "recall_at_k"]

log = logging.getLogger(__name__)

BACKENDS = ("auto", "exact", "nndescent", "ivf")


def exact_topk(
    queries: np.ndarray,
    base: np.ndarray | torch.Tensor,
    k: int,
    exclude: np.ndarray | None = None,
    block_size: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner products of ``queries`` against ``base``, blockwise.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, dim)
        Unit vectors.
    base : ndarray or Tensor of shape (n_base, dim)
        Unit vectors (float32 or float16).
    k : int
        Neighbours per query (at most ``n_base``, minus one with ``exclude``).
    exclude : ndarray of shape (n_queries,), optional
        A base row to leave out of each query's result (the query itself).

    Returns
    -------
    indices : ndarray of shape (n_queries, k), int64
    scores : ndarray of shape (n_queries, k), float32, descending per row.
    """
    base_t = base if isinstance(base, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(base))
    n_base = base_t.shape[0]
    take = min(k + (exclude is not None), n_base)
    out_i = np.empty((len(queries), take), dtype=np.int64)
    out_s = np.empty((len(queries), take), dtype=np.float32)
    # Large bases: bound the score block to about 256 MB.
    block = max(1, min(block_size, (64 << 20) // max(n_base, 1)))
    with torch.inference_mode():
        for start in range(0, len(queries), block):
            q = torch.from_numpy(np.ascontiguousarray(queries[start:start + block], dtype=np.float32))
            scores = _scores(q, base_t)
            s, i = torch.topk(scores, take, dim=1)
            out_i[start:start + len(q)] = i.numpy()
            out_s[start:start + len(q)] = s.numpy()
    if exclude is None:
        return out_i, out_s
    return _drop_rows(out_i, out_s, np.asarray(exclude), k)


def _scores(q: torch.Tensor, base: torch.Tensor, chunk: int = 262_144) -> torch.Tensor:
    """q @ base.T in float32, converting a float16 base in chunks."""
    if base.dtype == torch.float32:
        return q @ base.T
    parts = [q @ base[s:s + chunk].float().T for s in range(0, base.shape[0], chunk)]
    return torch.cat(parts, dim=1)


def _drop_rows(indices: np.ndarray, scores: np.ndarray, exclude: np.ndarray, k: int):
    """Remove ``exclude[r]`` from row r (or the last column when absent), keep ``k``."""
    hit = indices == exclude[:, None]
    missing = ~hit.any(axis=1)
    hit[missing, -1] = True
    keep = ~hit
    n = indices.shape[0]
    return indices[keep].reshape(n, -1)[:, :k], scores[keep].reshape(n, -1)[:, :k]


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact k neighbours that the approximate search found."""
    k = exact.shape[1]
    hits = [len(np.intersect1d(a[:k], e)) for a, e in zip(approx, exact)]
    return float(np.mean(hits) / k)


class NeighbourIndex(Params):
    """Cosine k-nearest-neighbour search over a fixed set of vectors.

    Parameters
    ----------
    backend : {"auto", "exact", "nndescent", "ivf"}
        See the module docstring.
    exact_max : int
        Largest set searched exactly when ``backend="auto"``.
    n_neighbors : int
        Graph degree of the ``nndescent`` index.
    n_lists : int or None
        Lists of the ``ivf`` index; None picks about ``sqrt(n)``.
    n_probe : int
        Lists an ``ivf`` query scans.
    float16_above : int
        Keep the vectors as float16 when there are more rows than this (halves memory).
    seed : int
        Seed of the approximate index builds.

    Attributes
    ----------
    backend_ : str
        The backend in use.
    n_samples_ : int
    n_lists_ : int or None
        Lists of the ``ivf`` index (None for the other backends).
    build_seconds_ : float

    Examples
    --------
    >>> index = NeighbourIndex().build(X)
    >>> rows, scores = index.query(np.array([0, 5]), k=10)   # rows of X, themselves excluded
    """

    BACKENDS = BACKENDS

    def __init__(self, backend: str = "auto", exact_max: int = 200_000, n_neighbors: int = 30,
                 n_lists: int | None = None, n_probe: int = 32, float16_above: int = 500_000, seed: int = 0):
        self.backend = backend
        self.exact_max = exact_max
        self.n_neighbors = n_neighbors
        self.n_lists = n_lists
        self.n_probe = n_probe
        self.float16_above = float16_above
        self.seed = seed

    def validate(self) -> "NeighbourIndex":
        """Check every parameter (:class:`MMXError` naming the bad one); returns self."""
        check_choice("backend", self.backend, BACKENDS)
        check_int("exact_max", self.exact_max, 1)
        check_int("n_neighbors", self.n_neighbors, 2)
        check_int("n_lists", self.n_lists, 1, allow_none=True)
        check_int("n_probe", self.n_probe, 1)
        check_int("float16_above", self.float16_above, 0)
        check_int("seed", self.seed, 0)
        return self

    def resolved_backend(self, n_samples: int) -> str:
        """The backend :meth:`build` uses for ``n_samples`` rows (``auto`` resolved)."""
        if self.backend != "auto":
            return self.backend
        return "exact" if n_samples <= self.exact_max else "ivf"

    def build(self, X, source: str | Path | None = None) -> "NeighbourIndex":
        """Index the rows of ``X`` (array-like of shape (n_samples, n_features)); returns self."""
        import time

        self.validate()
        X = check_vectors(X, source=source, min_rows=2, needed_for="a neighbour search")
        start = time.perf_counter()
        backend = self.resolved_backend(len(X))
        self.backend_ = backend
        self.n_samples_ = len(X)
        self.n_features_in_ = X.shape[1]
        dtype = np.float16 if len(X) > self.float16_above else np.float32
        self._base = torch.from_numpy(unit_rows(X, dtype))
        if backend == "nndescent":
            unit = self._base.numpy().astype(np.float32, copy=False)
            self._nnd = _build_nndescent(unit, self.n_neighbors, self.seed)
        elif backend == "ivf":
            self._ivf = _IVF.build(self._base, self.n_lists, self.seed)
        self.n_lists_ = int(self._ivf.centroids.shape[0]) if backend == "ivf" else None
        self.build_seconds_ = time.perf_counter() - start
        log.debug("built %s index over %d rows in %.1f s", backend, len(X), self.build_seconds_)
        return self

    def query(self, rows_or_vectors, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Nearest neighbours by cosine.

        Parameters
        ----------
        rows_or_vectors : int, ndarray of shape (m,) of ints, or ndarray of shape (m, n_features)
            Rows of the indexed set (each row is left out of its own result) or new vectors.
        k : int
            Neighbours per query.

        Returns
        -------
        indices : ndarray of shape (m, k)
            Rows of the indexed set, nearest first.
        scores : ndarray of shape (m, k)
            Cosine similarities.
        """
        if not hasattr(self, "backend_"):
            raise MMXError("this NeighbourIndex is not built yet; call build(X) first")
        q = np.asarray(rows_or_vectors)
        exclude = None
        if q.ndim <= 1 and np.issubdtype(q.dtype, np.integer):
            rows = np.atleast_1d(q).astype(np.int64)
            if rows.size and (rows.min() < 0 or rows.max() >= self.n_samples_):
                bad = int(rows.max() if rows.max() >= self.n_samples_ else rows.min())
                raise MMXError(f"row {bad} is out of range for an index over {self.n_samples_} rows")
            vectors = self._base[torch.from_numpy(rows)].float().numpy()
            exclude = rows
            limit = self.n_samples_ - 1
        else:
            if q.ndim == 1:
                raise MMXError(f"a query vector must be 2-D (m, {self.n_features_in_}); "
                               "reshape one vector with v.reshape(1, -1)")
            vectors = check_vectors(q, source="query vectors")
            if vectors.shape[1] != self.n_features_in_:
                raise MMXError(f"query vectors have {vectors.shape[1]} dimensions but the index has "
                               f"{self.n_features_in_}; query with vectors of the same embedding space")
            vectors = unit_rows(vectors)
            limit = self.n_samples_
        check_int("k", k, 1, limit)
        if self.backend_ == "exact":
            return exact_topk(vectors, self._base, k, exclude=exclude)
        extra = 0 if exclude is None else 1
        if self.backend_ == "ivf":
            idx, sc = self._ivf.query(vectors, k + extra, self.n_probe)
        else:
            idx, dist = self._nnd.query(vectors, k=k + extra)
            idx, sc = idx.astype(np.int64), (1.0 - dist).astype(np.float32)
        if exclude is None:
            return idx, sc
        return _drop_rows(idx, sc, exclude, k)

    # -- persistence: plain arrays, no pickle ---------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the index's arrays to an ``.npz`` (not the vectors, which the caller keeps)."""
        arrays = {"backend": np.str_(self.backend_), "n_samples": np.int64(self.n_samples_)}
        if self.backend_ == "nndescent":
            graph_i, graph_d = self._nnd.neighbor_graph
            arrays.update(graph_indices=graph_i.astype(np.int32), graph_dists=graph_d.astype(np.float32))
        elif self.backend_ == "ivf":
            arrays.update(self._ivf.arrays())
        with atomic_path(path) as tmp:
            np.savez(tmp, **arrays)
        return Path(path)

    def load(self, path: str | Path, X) -> "NeighbourIndex":
        """Restore an index saved by :meth:`save` over the same vectors ``X``; returns self."""
        import time

        self.validate()
        X = check_vectors(X, min_rows=2)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        if int(arrays["n_samples"]) != len(X):
            raise MMXError(f"the saved index covers {int(arrays['n_samples'])} rows, not {len(X)}; rebuild it", path)
        start = time.perf_counter()
        self.backend_ = str(arrays["backend"])
        self.n_samples_, self.n_features_in_ = len(X), X.shape[1]
        dtype = np.float16 if len(X) > self.float16_above else np.float32
        self._base = torch.from_numpy(unit_rows(X, dtype))
        if self.backend_ == "nndescent":
            unit = self._base.numpy().astype(np.float32, copy=False)
            self._nnd = _build_nndescent(unit, self.n_neighbors, self.seed,
                                         init=(arrays["graph_indices"], arrays["graph_dists"]))
        elif self.backend_ == "ivf":
            self._ivf = _IVF.from_arrays(self._base, arrays)
        self.n_lists_ = int(self._ivf.centroids.shape[0]) if self.backend_ == "ivf" else None
        self.build_seconds_ = time.perf_counter() - start
        return self


def _build_nndescent(unit: np.ndarray, n_neighbors: int, seed: int, init=None):
    """pynndescent index on unit vectors (dot = cosine); ``init`` is a saved graph to start from."""
    from pynndescent import NNDescent

    n_neighbors = min(n_neighbors, len(unit) - 1)
    kwargs = {}
    if init is not None:
        kwargs = {"init_graph": init[0], "n_iters": 1}  # distances recomputed: internal form differs
    index = NNDescent(unit, metric="dot", n_neighbors=n_neighbors, random_state=seed, low_memory=True,
                      n_jobs=-1, **kwargs)
    if init is not None:
        # pynndescent 0.7 turns tree_init off when given init_graph, and prepare() then builds its
        # search tree without reordering the data to match it: queries come back wrong (recall ~0.3
        # in tests/explore/test_umap.py). Switching it back on restores the reordering.
        index.tree_init = True
    index.prepare()
    return index


class _IVF:
    """Inverted-file kernel: centroids, rows grouped by list, list offsets."""

    def __init__(self, base: torch.Tensor, centroids: torch.Tensor, order: np.ndarray, offsets: np.ndarray):
        self.base, self.centroids, self.order, self.offsets = base, centroids, order, offsets
        # Rows of each list contiguous, in float32 even when the base is float16: converting
        # the probed lists at query time cost ~100 ms a query at 1,000,000 x 1024.
        self.grouped = torch.empty(base.shape, dtype=torch.float32)
        for s in range(0, len(order), 65536):
            self.grouped[s:s + 65536] = base[torch.from_numpy(order[s:s + 65536])].float()

    @classmethod
    def build(cls, base: torch.Tensor, n_lists: int | None, seed: int, iters: int = 10) -> "_IVF":
        n = base.shape[0]
        n_lists = n_lists or max(1, min(n // 40, int(math.sqrt(n))))
        gen = torch.Generator().manual_seed(seed)
        sample_size = min(n, max(64 * n_lists, 20_000))
        sample = base[torch.randperm(n, generator=gen)[:sample_size]].float()
        centroids = sample[torch.randperm(sample_size, generator=gen)[:n_lists]].clone()
        with torch.inference_mode():
            for _ in range(iters):  # spherical k-means on the sample
                assign = (sample @ centroids.T).argmax(dim=1)
                sums = torch.zeros_like(centroids).index_add_(0, assign, sample)
                counts = torch.bincount(assign, minlength=n_lists)
                empty = counts == 0
                sums[empty] = centroids[empty]
                centroids = torch.nn.functional.normalize(sums, dim=1)
            assign = torch.cat([(base[s:s + 65536].float() @ centroids.T).argmax(dim=1) for s in range(0, n, 65536)])
        assign = assign.numpy()
        order = np.argsort(assign, kind="stable")
        offsets = np.concatenate([[0], np.cumsum(np.bincount(assign, minlength=n_lists))]).astype(np.int64)
        return cls(base, centroids, order, offsets)

    def arrays(self) -> dict:
        return {"ivf_centroids": self.centroids.numpy(), "ivf_order": self.order, "ivf_offsets": self.offsets}

    @classmethod
    def from_arrays(cls, base: torch.Tensor, arrays: dict) -> "_IVF":
        return cls(base, torch.from_numpy(arrays["ivf_centroids"]), arrays["ivf_order"], arrays["ivf_offsets"])

    def query(self, vectors: np.ndarray, k: int, n_probe: int) -> tuple[np.ndarray, np.ndarray]:
        n_probe = min(n_probe, self.centroids.shape[0])
        out_i = np.full((len(vectors), k), -1, dtype=np.int64)
        out_s = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        with torch.inference_mode():
            q_all = torch.from_numpy(vectors)
            lists = torch.topk(q_all @ self.centroids.T, n_probe, dim=1).indices.numpy()
            for r in range(len(vectors)):
                starts, ends = self.offsets[lists[r]], self.offsets[lists[r] + 1]
                # Lists are contiguous slices of ``grouped``: score each slice, no gather.
                scores = torch.cat([self.grouped[a:b] @ q_all[r] for a, b in zip(starts, ends)])
                pos = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
                take = min(k, len(pos))
                s, i = torch.topk(scores, take)
                out_i[r, :take] = self.order[pos[i.numpy()]]
                out_s[r, :take] = s.numpy()
        return out_i, out_s
