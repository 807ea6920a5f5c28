"""Tables, timers, peak-memory and project-folder helpers shared by the benchmarks."""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from unittest import mock

import torch

from mmx_core.docs.includes import markdown_table


@dataclass
class Table:
    """One benchmark table: a title, a short note on method, column names and rows."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    def to_markdown(self) -> str:
        note = [self.note, ""] if self.note else []
        rows = ([_fmt(v) for v in row] for row in self.rows)
        return "\n".join([f"### {self.title}", "", *note, *markdown_table(self.columns, rows)]) + "\n"


def _fmt(value) -> str:
    if not isinstance(value, float):
        return str(value)
    return "n/a" if value != value else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


@contextlib.contextmanager
def timer() -> Iterator[dict]:
    """``with timer() as t: ...`` then ``t["seconds"]``."""
    record: dict = {}
    start = time.perf_counter()
    try:
        yield record
    finally:
        record["seconds"] = time.perf_counter() - start


def timed_runs(fn: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        with timer() as t:
            fn()
        times.append(t["seconds"])
    return times


def best_rate(fn: Callable[[], object], items: int, repeats: int, device: torch.device) -> float:
    """Best ``items`` per second of ``repeats`` timed calls of ``fn`` (the cores are shared: best, not mean)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None   # wait for queued CUDA work
    best = 0.0
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        best = max(best, items / (time.perf_counter() - start))
    return best


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    with open(f"/proc/{os.getpid()}/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


@contextlib.contextmanager
def peak_rss() -> Iterator[dict]:
    """Sample RSS every 20 ms during the block; ``record["peak_mb"]`` and ``record["delta_mb"]``."""
    record = {"start_mb": rss_mb(), "peak_mb": rss_mb()}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            record["peak_mb"] = max(record["peak_mb"], rss_mb())
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        stop.set()
        thread.join()
        record["peak_mb"] = max(record["peak_mb"], rss_mb())
        record["delta_mb"] = record["peak_mb"] - record["start_mb"]


LAST_CPU = {"seconds": float("nan")}
"""CPU seconds of the process during the last :func:`measure`."""


def measure(fn):
    """Run ``fn``: (result, wall seconds, peak RSS delta MB); CPU seconds of the process in LAST_CPU."""
    gc.collect()
    cpu = time.process_time()
    with peak_rss() as mem, timer() as t:
        out = fn()
    LAST_CPU["seconds"] = time.process_time() - cpu
    return out, t["seconds"], mem["delta_mb"]


def max_rss_mb() -> float:
    """Peak RSS of this process so far (ru_maxrss), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def row_cosines(a, b) -> "np.ndarray":
    """Cosine of each row of ``a`` with the same row of ``b`` (float64; a zero row counts as 0)."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def feature_cosines(first, second) -> dict:
    """Expert -> :func:`row_cosines` of two data sets' features of the same clips (folders of the same videos)."""
    from mmx_core.data import TrailerStore

    a, b = TrailerStore.open(first), TrailerStore.open(second)
    return {expert: row_cosines(a.features[expert], b.features[expert]) for expert in a.manifest.experts}


TRUST_SAMPLE = 2000
TRUST_K = 10


def trust(X, Y, seed: int = 0) -> float:
    """scikit-learn trustworthiness (k=10, cosine in the input space) on a fixed sample."""
    import numpy as np
    from sklearn.manifold import trustworthiness

    rows = np.random.default_rng(seed).choice(len(X), min(TRUST_SAMPLE, len(X)), replace=False)
    return float(trustworthiness(X[rows], Y[rows], n_neighbors=TRUST_K, metric="cosine"))


def baseline_runs(X, min_cluster_size: int | None = None) -> dict:
    """umap-learn's defaults for the map, then UMAP-10 + the pipeline's HDBSCAN settings for sub-genres (its
    ``min_cluster_size`` unless one is given): the results, and each one's wall and CPU seconds and peak MB."""
    import hdbscan
    import umap

    from mmx_core.explore import SubgenreClusterer

    Y, seconds, mb = measure(lambda: umap.UMAP().fit_transform(X))
    cpu = LAST_CPU["seconds"]
    chosen = SubgenreClusterer()

    def baseline_clusters():
        reduced = umap.UMAP(n_components=10).fit_transform(X)
        clusterer = hdbscan.HDBSCAN(min_cluster_size=min_cluster_size or chosen.min_cluster_size,
                                    min_samples=chosen.min_samples, cluster_selection_method=chosen.selection)
        return clusterer.fit(reduced).labels_

    labels, seconds10, mb10 = measure(baseline_clusters)
    return {"Y": Y, "seconds": seconds, "cpu": cpu, "mb": mb, "labels": labels, "seconds10": seconds10,
            "cpu10": LAST_CPU["seconds"], "mb10": mb10}


def environ(values: dict[str, str]):
    """Set the environment variables ``values`` for the block; the environment comes back as it was after."""
    return mock.patch.dict(os.environ, values)


def project_folders(home: Path) -> dict[str, str]:
    """The environment that points the project's cache, data and runs folders under ``home``."""
    return {f"MMX_{name.upper()}_DIR": str(home / name) for name in ("cache", "data", "runs")}


@contextlib.contextmanager
def fresh_cache() -> Iterator[str]:
    """An empty temporary cache folder as the project's cache for the block."""
    with tempfile.TemporaryDirectory(prefix="mmx-bench-") as folder, environ({"MMX_CACHE_DIR": folder}):
        yield folder


def no_shipped_cache():
    """Make the pipeline ignore assets/cache (so a 'cold' run is really cold)."""
    from mmx_core.base import artefacts

    return mock.patch.object(artefacts, "shipped_cache_dir", lambda: artefacts.cache_dir())
