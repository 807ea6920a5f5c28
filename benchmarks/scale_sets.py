"""What the scale benchmarks share: generated sets and the per-query timer.

The scale benchmarks (``bench_scale_*.py``) each write their own section of docs/benchmarks.md, so
one of them can be rerun (they take from minutes to most of an hour at full size) without the others.
Vectors are generated around the published embeddings (:mod:`mmx_core.explore.generate`), with
the seed each benchmark names, so ``python -m mmx_core generate-embeddings --n N --dim D --seed S``
writes the same set.
"""

from __future__ import annotations

import time

import numpy as np


def generated(n: int, dim: int, seed: int):
    """The generated :class:`EmbeddingSet` of ``n`` x ``dim`` rows drawn with ``seed``."""
    from mmx_core.trailers.published import load_published
    from mmx_core.explore.generate import generate_set

    return generate_set(load_published(), n, dim, seed=seed)


def query_ms(index, rows: np.ndarray) -> float:
    """Milliseconds of one single-row query of ``index`` (k=10), averaged over up to 100 rows after one warm-up."""
    index.query(rows[:1], 10)
    start = time.perf_counter()
    for r in rows[:100]:
        index.query(np.array([r]), 10)
    return 1000 * (time.perf_counter() - start) / min(len(rows), 100)
