"""Tables, timers and peak-memory helpers shared by the benchmarks."""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch


@dataclass
class Table:
    """One benchmark table: a title, a short note on method, column names and rows."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in self.columns) + "|")
        for row in self.rows:
            lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
        return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:
            return "n/a"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


@contextlib.contextmanager
def timer() -> Iterator[dict]:
    """``with timer() as t: ...`` then ``t["seconds"]``."""
    record: dict = {}
    start = time.perf_counter()
    try:
        yield record
    finally:
        record["seconds"] = time.perf_counter() - start


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def best_rate(fn: Callable[[], object], items: int, repeats: int, device: torch.device) -> float:
    """Best ``items`` per second of ``repeats`` timed calls of ``fn`` (the cores are shared: best, not mean)."""
    best = 0.0
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
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
