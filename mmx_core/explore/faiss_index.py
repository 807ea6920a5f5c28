"""faiss kernels behind :class:`~mmx_core.explore.neighbours.NeighbourIndex` and the UMAP kNN graphs.

Four index kinds, one builder each, all over float32 rows:

``exact``  ``IndexFlat``: brute force, exact.
``hnsw``   ``IndexHNSWFlat``: a navigable small-world graph; best on low dimensions.
``ivf``    ``IndexIVFFlat``: k-means lists over the full vectors; a query scans ``n_probe`` lists.
``ivfpq``  ``IndexIVFPQ``: the same lists holding product-quantised codes (``pq_m`` bytes a row),
           for sets whose full vectors do not fit the memory budget.

``metric`` is ``"ip"`` (inner product: cosine on unit rows) or ``"l2"`` (squared Euclidean).
Indexes are written and read by faiss's own ``write_index`` / ``read_index`` (no pickle).
When torch sees a GPU and the installed faiss has GPU support (``faiss-gpu-cu12``), :func:`to_device`
copies an index there for searching; the index is built (and trained) on the CPU, so the same seed
gives the same index on either device, and the CPU index is what is saved. HNSW has no GPU
counterpart in faiss and stays on the CPU. :func:`knn_graph` searches on the GPU the same way.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from mmx_core.base.errors import first_line

__all__ = ["KINDS", "build", "search", "save", "kind_of", "knn_graph", "to_device", "set_search_params",
           "pq_subquantizers", "gpu_ready"]

log = logging.getLogger(__name__)

KINDS = ("exact", "hnsw", "ivf", "ivfpq")
ADD_CHUNK = 65536


def faiss_module():
    """faiss, its OpenMP threads set to torch's (one thread count for the process; faiss's own
    default of every core slowed training several-fold when the cores were shared)."""
    import faiss
    import torch

    faiss.omp_set_num_threads(torch.get_num_threads())
    return faiss


def default_lists(n: int) -> int:
    """Lists of an IVF index over ``n`` rows: about 4 sqrt(n), at least 1 and at most n / 39."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


def pq_subquantizers(dim: int, wanted: int) -> int:
    """The largest divisor of ``dim`` not above ``wanted`` (IVF-PQ needs m | dim)."""
    return max(m for m in range(1, min(wanted, dim) + 1) if dim % m == 0)


def build(X: np.ndarray, kind: str, metric: str = "ip", *, n_lists: int | None = None, hnsw_m: int = 32,
          ef_construction: int = 80, pq_m: int = 64, seed: int = 0, train_max: int = 200_000):
    """Build a CPU faiss index of ``kind`` over the rows of ``X`` (float32, C-contiguous).

    IVF kinds train their k-means (and PQ codebooks) on at most ``train_max`` rows drawn with ``seed``.
    """
    faiss = faiss_module()
    n, dim = X.shape
    mt = faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2
    if kind == "exact":
        index = faiss.IndexFlat(dim, mt)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, mt)
        index.hnsw.efConstruction = ef_construction
    elif kind in ("ivf", "ivfpq"):
        lists = min(n_lists or default_lists(n), n)
        quantizer = faiss.IndexFlat(dim, mt)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, lists, mt)
        else:
            bits = 8 if n >= 256 * 39 else max(4, min(8, int(math.log2(max(n // 39, 16)))))
            index = faiss.IndexIVFPQ(quantizer, dim, lists, pq_subquantizers(dim, pq_m), bits, mt)
        index.cp.seed = int(seed)
        index.own_fields = True
        quantizer.this.disown()  # the IVF index now owns (and frees) its quantizer
        rows = np.random.default_rng(seed).choice(n, min(n, train_max), replace=False) if n > train_max else None
        index.train(X if rows is None else np.ascontiguousarray(X[np.sort(rows)], dtype=np.float32))
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    for s in range(0, n, ADD_CHUNK):
        index.add(np.ascontiguousarray(X[s:s + ADD_CHUNK], dtype=np.float32))
    return index


def set_search_params(index, n_probe: int = 32, ef_search: int = 128) -> None:
    """Search-time knobs: lists scanned (IVF kinds), candidate list length (HNSW)."""
    faiss = faiss_module()
    inner = faiss.extract_index_ivf(index) if kind_of(index) in ("ivf", "ivfpq") else None
    if inner is not None:
        inner.nprobe = int(min(n_probe, inner.nlist))
    elif kind_of(index) == "hnsw":
        faiss.downcast_index(index).hnsw.efSearch = int(ef_search)


def kind_of(index) -> str:
    """The kind (:data:`KINDS`) of a faiss index, CPU or GPU."""
    faiss = faiss_module()
    name = type(faiss.downcast_index(index)).__name__.replace("Gpu", "")
    return {"IndexFlat": "exact", "IndexFlatIP": "exact", "IndexFlatL2": "exact", "IndexHNSWFlat": "hnsw",
            "IndexIVFFlat": "ivf", "IndexIVFPQ": "ivfpq"}.get(name, name)


def search(index, queries: np.ndarray, k: int, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """``k`` nearest rows of ``queries`` (float32): (indices int64 (m, k), scores float32 (m, k)).

    Scores are inner products (``ip``) or squared distances (``l2``); missing results are -1.
    """
    out_i = np.empty((len(queries), k), dtype=np.int64)
    out_s = np.empty((len(queries), k), dtype=np.float32)
    for s in range(0, len(queries), chunk):
        q = np.ascontiguousarray(queries[s:s + chunk], dtype=np.float32)
        d, i = index.search(q, k)
        out_i[s:s + len(q)], out_s[s:s + len(q)] = i, d
    return out_i, out_s


def save(index, path: str | Path) -> None:
    """faiss's own writer (a GPU index is copied to the CPU first)."""
    faiss = faiss_module()
    if hasattr(faiss, "index_gpu_to_cpu") and type(index).__name__.startswith("Gpu"):
        index = faiss.index_gpu_to_cpu(index)
    faiss.write_index(index, str(path))


def gpu_ready() -> bool:
    """Whether the installed faiss has GPU support and sees a GPU."""
    faiss = faiss_module()
    return hasattr(faiss, "StandardGpuResources") and int(getattr(faiss, "get_num_gpus", lambda: 0)()) > 0


def to_device(index, device: str):
    """``index`` on ``device`` ("cpu" or "cuda"): a GPU copy when faiss has GPU support, else unchanged.

    HNSW has no GPU counterpart in faiss and stays on the CPU; so does an index faiss cannot copy
    (e.g. IVF-PQ codes too wide for the GPU's shared memory), with a warning in the log.
    """
    if device != "cuda" or kind_of(index) == "hnsw" or not gpu_ready():
        return index
    faiss = faiss_module()  # pragma: no cover - needs a GPU build of faiss and a GPU
    resources = faiss.StandardGpuResources()  # pragma: no cover
    try:  # pragma: no cover
        gpu = faiss.index_cpu_to_gpu(resources, 0, index)
    except RuntimeError as exc:  # pragma: no cover
        log.warning("faiss could not copy the %s index to the GPU (%s); it searches on the CPU",
                    kind_of(index), first_line(exc, "no reason given"))
        return index
    gpu.referenced_resources = resources  # pragma: no cover - keep the resources alive with the index
    return gpu  # pragma: no cover


def knn_graph(Z: np.ndarray, k: int, kind: str = "hnsw", seed: int = 0, ef_search: int = 128,
              n_probe: int = 32, device: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Approximate Euclidean k-NN of every row of ``Z`` among all rows, in umap-learn's layout.

    Each row comes first at distance 0. ``device`` (one of ``base.devices.DEVICES``): the index searches on
    the GPU when ``"auto"`` finds one (:func:`to_device`; not HNSW). Returns
    ``(indices int32 (n, k), distances float32 (n, k))``.
    """
    from mmx_core.base.devices import resolve_device
    from mmx_core.explore.exact_knn import self_first

    Z = np.ascontiguousarray(Z, dtype=np.float32)
    index = build(Z, kind, "l2", seed=seed)
    set_search_params(index, n_probe=n_probe, ef_search=max(ef_search, k))
    index = to_device(index, resolve_device(device).type)
    idx, sq = search(index, Z, k)
    idx, dist = self_first(idx, np.sqrt(np.maximum(sq, 0.0)).astype(np.float32), Z)
    missing = idx < 0
    if missing.any():  # pad short rows (tiny lists) with the row itself at a large distance
        idx[missing] = np.broadcast_to(np.arange(len(Z))[:, None], idx.shape)[missing]
        dist[missing] = np.float32(np.max(dist[~missing]) if (~missing).any() else 1.0)
    return idx.astype(np.int32), dist
