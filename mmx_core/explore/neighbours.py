"""Cosine nearest-neighbour search behind one tiny interface (``build`` / ``query``).

Backends (faiss indexes, :mod:`.faiss_index`)
---------------------------------------------
``exact``
    Flat inner product over unit vectors: exact, no training.
``hnsw``
    faiss HNSW graph (approximate); the auto choice on low dimensions (``dim <= hnsw_max_dim``).
``ivf``
    faiss IVF-Flat: k-means lists over the full vectors, a query scans ``n_probe`` lists.
``ivfpq``
    faiss IVF-PQ: the same lists holding ``pq_m``-byte codes; candidates are re-ranked
    exactly against the caller's vectors, so recall stays near IVF-Flat's.
``auto``
    ``exact`` up to ``exact_max`` rows; above, ``ivfpq`` when the full vectors would pass
    ``memory_limit_mb``, else ``hnsw`` up to ``hnsw_max_dim`` dimensions and ``ivf`` above
    (:meth:`NeighbourIndex.resolved_backend`; docs/scale.md).

Indexes are saved with faiss's own writer (:meth:`NeighbourIndex.save`; no pickle) and run on
the GPU when torch sees one and the installed faiss has GPU support (``device="auto"``): they are
built on the CPU and a copy searches on the GPU (HNSW stays on the CPU);
:attr:`NeighbourIndex.device_` says where the search runs.
Scores are cosine similarities (higher is nearer).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from mmx_core.base.devices import DEVICES, resolve_device
from mmx_core.base.artefacts import atomic_path
from mmx_core.base.errors import MMXError, first_line
from mmx_core.base.params import Params
from mmx_core.base.constraints import Choice, Int, check_params
from mmx_core.explore import faiss_index
from mmx_core.explore.checks import check_vectors, unit_rows
from mmx_core.explore.exact_knn import drop_rows

__all__ = ["NeighbourIndex", "recall_at_k"]

log = logging.getLogger(__name__)


def recall_at_k(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact k neighbours that the approximate search found."""
    k = exact.shape[1]
    hits = [len(np.intersect1d(a[:k], e)) for a, e in zip(approx, exact)]
    return float(np.mean(hits) / k)


class NeighbourIndex(Params):
    """Cosine k-nearest-neighbour search over a fixed set of vectors.

    Parameters
    ----------
    backend : {"auto", "exact", "hnsw", "ivf", "ivfpq"}
        See the module docstring.
    exact_max : int
        Largest set searched exactly when ``backend="auto"``.
    memory_limit_mb : int
        ``auto`` picks ``ivfpq`` when the full float32 vectors would take more than this.
    hnsw_max_dim : int
        ``auto`` picks ``hnsw`` (rather than ``ivf``) up to this many dimensions.
    n_lists : int or None
        Lists of the IVF indexes; None picks about ``4 sqrt(n)``.
    n_probe : int
        Lists an IVF query scans.
    hnsw_m : int
        Links per node of the HNSW graph.
    ef_search : int
        Candidate list length of an HNSW query.
    pq_m : int
        Bytes per row of the IVF-PQ codes (the largest divisor of the dimension not above it).
    rerank : int
        IVF-PQ fetches ``rerank * k`` candidates and re-ranks them exactly (ten times k lost about one
        true neighbour in fifteen at 1,000,000 x 1024 with 64-byte codes; the scale benchmark measures both).
    device : {"auto", "cpu", "cuda"}
        Where the index searches; ``auto`` is the GPU when torch sees one (and faiss supports it).
    seed : int
        Seed of the IVF training sample and k-means.

    Attributes
    ----------
    backend_ : str
        The backend in use.
    n_samples_ : int
    n_features_in_ : int
    n_lists_ : int or None
        Lists of the IVF indexes (None for the others).
    build_seconds_ : float
    device_ : str
        Where the index searches: ``"cuda"`` (a GPU copy) or ``"cpu"``.

    Examples
    --------
    >>> index = NeighbourIndex().build(X)
    >>> rows, scores = index.query(np.array([0, 5]), k=10)   # rows of X, themselves excluded
    """

    BACKENDS = ("auto",) + faiss_index.KINDS
    BUILD_PARAMS = ("backend", "n_lists", "hnsw_m", "pq_m", "seed")
    """The parameters a saved index depends on (the others are chosen at search time)."""

    def __init__(self, backend: str = "auto", exact_max: int = 200_000, memory_limit_mb: int = 8192,
                 hnsw_max_dim: int = 128, n_lists: int | None = None, n_probe: int = 32, hnsw_m: int = 32,
                 ef_search: int = 128, pq_m: int = 64, rerank: int = 40, device: str = "auto", seed: int = 0):
        self.backend = backend
        self.exact_max = exact_max
        self.memory_limit_mb = memory_limit_mb
        self.hnsw_max_dim = hnsw_max_dim
        self.n_lists = n_lists
        self.n_probe = n_probe
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.pq_m = pq_m
        self.rerank = rerank
        self.device = device
        self.seed = seed

    def validate(self) -> "NeighbourIndex":
        """Check every parameter (:class:`MMXError` naming the bad one); returns self."""
        return check_params(self, backend=Choice(self.BACKENDS), exact_max=Int(1), memory_limit_mb=Int(1),
                            hnsw_max_dim=Int(1), n_lists=Int(1, none=True), n_probe=Int(1), hnsw_m=Int(2),
                            ef_search=Int(1), pq_m=Int(1), rerank=Int(1), device=Choice(DEVICES), seed=Int(0))

    def resolved_backend(self, n_samples: int, n_features: int | None = None) -> str:
        """The backend :meth:`build` uses for ``n_samples`` x ``n_features`` rows (``auto`` resolved)."""
        if self.backend != "auto":
            return self.backend
        if n_samples <= self.exact_max:
            return "exact"
        dim = n_features or 1024
        if (4 * dim + 8) * n_samples > self.memory_limit_mb * 2**20:  # IVF-Flat: float32 rows and int64 ids
            return "ivfpq"
        return "hnsw" if dim <= self.hnsw_max_dim else "ivf"

    def build(self, X, source: str | Path | None = None) -> "NeighbourIndex":
        """Index the rows of ``X`` (array-like of shape (n_samples, n_features)); returns self."""
        self.validate()
        X = check_vectors(X, source=source, min_rows=2, needed_for="a neighbour search")
        start = time.perf_counter()
        backend = self.resolved_backend(*X.shape)
        index = faiss_index.build(unit_rows(X), backend, "ip", n_lists=self.n_lists, hnsw_m=self.hnsw_m,
                                  pq_m=self.pq_m, seed=self.seed)
        self._attach(index, X, start)
        log.debug("built %s index over %d rows in %.1f s", backend, len(X), self.build_seconds_)
        return self

    def _attach(self, index, X: np.ndarray, start: float) -> None:
        """Take ``index`` over the rows of ``X`` (built or read since ``start``) and ready it for searching."""
        self._X, self._cpu_index = X, index
        self.backend_ = faiss_index.kind_of(index)
        self.n_samples_, self.n_features_in_ = X.shape
        self.n_lists_ = int(faiss_index.faiss_module().extract_index_ivf(index).nlist) \
            if self.backend_ in ("ivf", "ivfpq") else None
        faiss_index.set_search_params(index, n_probe=self.n_probe, ef_search=self.ef_search)
        self._index = faiss_index.to_device(index, resolve_device(self.device).type)
        self.device_ = "cpu" if self._index is index else "cuda"
        self.build_seconds_ = time.perf_counter() - start

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
            vectors = unit_rows(self._X[rows])
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
        Int(1, limit).check("k", k)
        want = min(k + (exclude is not None), self.n_samples_)
        if self.backend_ == "ivfpq":
            idx, sc = self._rerank(vectors, min(self.rerank * want, self.n_samples_), want)
        else:
            idx, sc = faiss_index.search(self._index, vectors, want)
        if exclude is None:
            return idx[:, :k], sc[:, :k]
        return drop_rows(idx, sc, exclude, k)

    def all_neighbours(self, k: int = 10, n_probe: int | None = None, rows: np.ndarray | None = None,
                       chunk: int = 65536) -> np.ndarray:
        """The ``k`` nearest other rows of each of ``rows`` (every indexed row when None), ndarray of shape
        (len(rows), k): the bulk query of a comparison. ``n_probe`` sets the lists an IVF query scans for this
        call only (on the CPU)."""
        if not hasattr(self, "backend_"):
            raise MMXError("this NeighbourIndex is not built yet; call build(X) first")
        rows = np.arange(self.n_samples_) if rows is None else np.asarray(rows, dtype=np.int64)
        probe = self.n_probe if n_probe is None else n_probe
        if self.device_ == "cpu":
            faiss_index.set_search_params(self._index, n_probe=probe, ef_search=self.ef_search)
        try:
            out = np.empty((len(rows), k), dtype=np.int64)
            for s in range(0, len(rows), chunk):
                out[s:s + chunk] = self.query(rows[s:s + chunk], k)[0]
        finally:
            if self.device_ == "cpu":
                faiss_index.set_search_params(self._index, n_probe=self.n_probe, ef_search=self.ef_search)
        return out

    def _rerank(self, vectors: np.ndarray, fetch: int, keep: int) -> tuple[np.ndarray, np.ndarray]:
        """IVF-PQ candidates re-scored against the exact vectors, best ``keep`` per query."""
        cand, _ = faiss_index.search(self._index, vectors, fetch)
        out_i = np.full((len(vectors), keep), -1, dtype=np.int64)
        out_s = np.full((len(vectors), keep), -np.inf, dtype=np.float32)
        for r in range(len(vectors)):
            c = cand[r][cand[r] >= 0]
            scores = unit_rows(self._X[c]) @ vectors[r] if len(c) else np.zeros(0, np.float32)
            order = np.argsort(-scores, kind="stable")[:keep]
            out_i[r, :len(order)], out_s[r, :len(order)] = c[order], scores[order]
        return out_i, out_s

    # -- persistence: faiss's own format, no pickle --------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the index with faiss's writer (the vectors stay with the caller for ``load``)."""
        with atomic_path(path) as tmp:
            faiss_index.save(self._cpu_index, tmp)
        return Path(path)

    def load(self, path: str | Path, X) -> "NeighbourIndex":
        """Restore an index saved by :meth:`save` over the same vectors ``X``; returns self."""
        self.validate()
        X = check_vectors(X, min_rows=2)
        start = time.perf_counter()
        try:
            index = faiss_index.faiss_module().read_index(str(path))
        except RuntimeError as exc:
            raise MMXError(f"not a faiss index ({first_line(exc, 'unreadable')}); rebuild it", path) from None
        if index.ntotal != len(X) or index.d != X.shape[1]:
            raise MMXError(f"the saved index covers {index.ntotal} rows of {index.d} dimensions, not "
                           f"{len(X)} x {X.shape[1]}; rebuild it", path)
        self._attach(index, X, start)
        return self
