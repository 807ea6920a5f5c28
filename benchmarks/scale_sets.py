"""What the scale benchmarks share: generated sets, the per-query timer, keeping a run's artefacts.

The scale benchmarks (``bench_scale_*.py``) each write their own section of docs/benchmarks.md, so
one of them can be rerun (they take from minutes to most of an hour at full size) without the others.
Vectors are generated around the published embeddings (:mod:`mmx_core.explore.generate`), with
the seed each benchmark names, so ``python -m mmx_core generate-embeddings --n N --dim D --seed S``
writes the same set.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np


def generated(n: int, dim: int, seed: int):
    """The generated :class:`EmbeddingSet` of ``n`` x ``dim`` rows drawn with ``seed``."""
    from mmx_core.base.assets import load_published
    from mmx_core.explore.generate import generate_set

    return generate_set(load_published(), n, dim, seed=seed)


def query_ms(index, rows: np.ndarray) -> float:
    """Milliseconds of one single-row query of ``index`` (k=10), averaged over up to 100 rows after one warm-up."""
    index.query(rows[:1], 10)
    start = time.perf_counter()
    for r in rows[:100]:
        index.query(np.array([r]), 10)
    return 1000 * (time.perf_counter() - start) / min(len(rows), 100)


def keep_artefacts(run_cache: str | Path, project_cache: Path) -> None:
    """Copy the artefacts a benchmark computed in its own cold cache into the project's cache, so the app
    opens the benchmark's set warm afterwards (every artefact carries its own key and hashes)."""
    shutil.copytree(run_cache, project_cache, dirs_exist_ok=True)
