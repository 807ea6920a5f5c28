"""Embeddings generated around the published ones: large collections for scale tests and benchmarks.

Each generated vector is a random published row plus Gaussian noise at ``noise`` times the
set's per-dimension standard deviation, clipped at 0 (the published vectors are non-negative).
A dimension other than 1024 first maps the published vectors through a fixed random
projection (seed 123, absolute values). Generated rows keep the genres and year of the
published row they came from, so searches and filters have something to work on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.constraints import Int

__all__ = ["generate_vectors", "generate_set"]

CHUNK = 100_000


def generate_vectors(base: np.ndarray, n: int, dim: int, seed: int = 0, noise: float = 0.5,
                     dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` vectors of ``dim`` dimensions around the rows of ``base``.

    Returns
    -------
    vectors : ndarray of shape (n, dim)
    source_rows : ndarray of shape (n,)
        The row of ``base`` each vector was drawn around.
    """
    Int(1).check("n", n)
    Int(2).check("dim", dim)
    rng = np.random.default_rng(seed)
    base = np.asarray(base, dtype=np.float32)
    if dim != base.shape[1]:
        proj = np.random.default_rng(123).normal(size=(base.shape[1], dim)).astype(np.float32) / np.sqrt(dim)
        base = np.abs(base @ proj)
    scale = noise * base.std(axis=0, keepdims=True)
    out = np.empty((n, dim), dtype=dtype)
    source = np.empty(n, dtype=np.int64)
    for s in range(0, n, CHUNK):  # rows then noise per chunk: the stream the benchmarks have always drawn
        m = min(CHUNK, n - s)
        source[s:s + m] = rng.integers(len(base), size=m)
        rows = base[source[s:s + m]]
        out[s:s + m] = np.maximum(rows + scale * rng.standard_normal((m, dim), dtype=np.float32), 0.0)
    out[~out.any(axis=1), 0] = 1e-3  # no all-zero rows (their cosine is undefined)
    return out, source


def generate_set(source: EmbeddingSet, n: int, dim: int, seed: int = 0, noise: float = 0.5,
                 dtype=np.float32) -> EmbeddingSet:
    """An :class:`EmbeddingSet` of ``n`` generated trailers (ids ``g0000000``...) with metadata borrowed
    from the published rows they were drawn around (titles marked as generated)."""
    vectors, rows = generate_vectors(source.vectors, n, dim, seed=seed, noise=noise, dtype=dtype)
    width = max(7, len(str(n - 1)))
    ids = np.array([f"g{i:0{width}d}" for i in range(n)])
    meta = None
    if source.metadata is not None:
        borrowed = source.metadata.iloc[rows].reset_index(drop=True)
        meta = pd.DataFrame({"id": ids})
        for column in ("year", "genres"):
            if column in borrowed.columns:
                meta[column] = borrowed[column].to_numpy()
        if "display_title" in borrowed.columns:
            meta["display_title"] = [f"{t} (generated {i})" for i, t in enumerate(borrowed["display_title"])]
    return EmbeddingSet(ids, vectors, meta, f"generated-{n}x{dim}")
