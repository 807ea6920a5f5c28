"""Data layer throughput: the generator (trailers/s, clips/s) and the loader (clips/s from the
memory-mapped store through a torch DataLoader with 2 workers and collate_clips), at real dims."""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness import Table, peak_rss, timer
from mmx_core.data import TrailerStore, collate_clips
from mmx_core.data.synth import estimate_size_bytes, synthesize
from mmx_core.progress import progress_callback


class _RandomSequences(torch.utils.data.Dataset):
    """Trailer t -> up to ``n_sequences`` of its sequences chosen at random (what training reads)."""

    def __init__(self, store: TrailerStore, n_sequences: int, seed: int = 0):
        self.store, self.n_sequences, self.seed = store, n_sequences, seed

    def __len__(self) -> int:
        return self.store.n_trailers

    def __getitem__(self, t: int):
        rng = np.random.default_rng([self.seed, t])
        count = self.store.sequence_count(t)
        chosen = np.sort(rng.choice(count, size=min(count, self.n_sequences), replace=False))
        return self.store.read(t, chosen)


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _loader_rate(store: TrailerStore, workers: int, batch_size: int, n_sequences: int, max_batches: int) -> dict:
    """Steady-state loading rate: wall clock, and per CPU-second of all processes (load-independent)."""
    loader = torch.utils.data.DataLoader(
        _RandomSequences(store, n_sequences), batch_size=batch_size, shuffle=True, num_workers=workers,
        collate_fn=collate_clips, persistent_workers=False, generator=torch.Generator().manual_seed(0))
    clips = batches = 0
    iterator = iter(loader)
    first = next(iterator)  # worker start-up is not part of the steady-state rate
    first_clips = int(first["clip_mask"].sum())
    cpu0, child0 = time.process_time(), _children_cpu()
    start = time.perf_counter()
    for batch in iterator:
        clips += int(batch["clip_mask"].sum())
        batches += 1
        if batches >= max_batches:
            break
    seconds = time.perf_counter() - start
    main_cpu = time.process_time() - cpu0
    del iterator  # joins the workers, so their CPU time is counted (it includes the first batch)
    worker_cpu = _children_cpu() - child0
    cpu_clips = clips + (first_clips if workers else 0)
    return {"clips_per_s": clips / seconds, "trailers_per_s": batches * batch_size / seconds, "batches": batches,
            "clips_per_cpu_s": cpu_clips / max(1e-9, main_cpu + worker_cpu), "main_cpu_share": main_cpu / seconds}


def run(quick: bool = False) -> list[Table]:
    n = 120 if quick else 1500
    root = Path(tempfile.mkdtemp(prefix="mmx-bench-data-"))
    try:
        gen = Table(
            "Generator (synth --latent planted, real dims 2048/2048/512/128, float16)",
            ["trailers", "clips", "seconds", "trailers/s", "clips/s", "MB on disk", "MB/s written", "peak RSS MB"],
            note="One process; numpy uses the machine's 2 cores for the projections. Default knobs "
                 "(2-6 sequences a trailer, 9 clips a sequence, 2-6 audio frames a clip).")
        with progress_callback(lambda *a: None), peak_rss() as mem, timer() as t:
            path = synthesize(root / "planted", n, seed=0)
        store = TrailerStore.open(path, validate=False)
        size = _folder_bytes(path)
        gen.rows.append([n, store.n_clips, t["seconds"], n / t["seconds"], store.n_clips / t["seconds"], size / 1e6,
                         size / 1e6 / t["seconds"], mem["peak_mb"]])
        est = estimate_size_bytes(7594)
        gen.rows.append(["7,594 (extrapolated)", int(store.n_clips / n * 7594), 7594 / (n / t["seconds"]),
                         float("nan"), float("nan"), est / 1e6, float("nan"), float("nan")])
        load = Table(
            "Loader (TrailerStore memory map -> DataLoader -> collate_clips), real dims",
            ["workers", "batch (trailers)", "sequences/trailer", "batches", "clips/s", "trailers/s",
             "clips per CPU-second", "main process CPU share", "load average"],
            note="Random sequences per trailer, shuffled trailers; the set was just written, so it is in the "
                 "page cache (warm). Clips counted from clip_mask; the first batch (worker start-up) is not timed. "
                 "With workers, every float32 batch (about 9 MB for 16 trailers x 4 sequences) travels through "
                 "fresh shared memory, and first-touch page faults are slow on this VM (about 4 us a 4 KiB page), "
                 "so 2 workers can be slower than reading in the training process (workers 0). The machine is "
                 "shared: 'load average' is the 1-minute load on its 2 cores when the row was measured, and "
                 "'clips per CPU-second' (CPU time of the main process and the workers) does not depend on it. "
                 "'main process CPU share' is the share of wall time the main (training) process spent on loading: "
                 "with workers, only receiving the batches.")
        batches = 10 if quick else 60
        for workers in (0, 2):
            rate = _loader_rate(store, workers, batch_size=16, n_sequences=4, max_batches=batches)
            load.rows.append([workers, 16, 4, rate["batches"], rate["clips_per_s"], rate["trailers_per_s"],
                              rate["clips_per_cpu_s"], rate["main_cpu_share"], os.getloadavg()[0]])
        with timer() as tv:
            from mmx_core.data.validate import validate_dataset

            ok = validate_dataset(path).ok
        val = Table("Validation (full, with NaN/Inf scan)", ["trailers", "clips", "MB", "seconds", "MB/s", "ok"])
        val.rows.append([n, store.n_clips, size / 1e6, tv["seconds"], size / 1e6 / tv["seconds"], ok])
        return [gen, load, val]
    finally:
        shutil.rmtree(root, ignore_errors=True)
