"""Data layer throughput: the generator (trailers/s, clips/s); the loader (clips/s from the memory-mapped
store into reused buffers in the training process, float16 and float32 features) against the shipped
model's training clip rate measured in the same run; validation."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from benchmarks.bench_model import BATCH, train_batches, train_rate
from benchmarks.harness import Table, peak_rss, timer
from mmx_core.data import BatchBuffers, TrailerStore
from mmx_core.data.synth import estimate_size_bytes, synthesize
from mmx_core.model import MMXModel, ModelConfig
from mmx_core.base.progress import progress_callback
from mmx_core.train.inference import to_device
from mmx_core.studies.release import SHIPPED_MODEL
from mmx_core.train.sampling import TrailerSequences, epoch_batches

CPU = torch.device("cpu")
SEQUENCES = SHIPPED_MODEL["train_sequences"]


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _loader_rate(batches: Callable[[], Iterable[dict]], as_float32: bool) -> dict:
    """Steady-state rate of one pass over ``batches()``: wall clock, and per CPU-second of this process.

    With ``as_float32`` each batch is also made model-ready (float16 features cast into reused float32
    memory by ``to_device``; a no-op for float32 batches).
    """
    consumer = BatchBuffers()
    iterator = iter(batches())
    next(iterator)  # the first batch grows the buffers: not part of the steady-state rate
    clips = count = 0
    cpu0, start = time.process_time(), time.perf_counter()
    for batch in iterator:
        if as_float32:
            batch = to_device(batch, CPU, consumer)
        clips += int(batch["batch"]["clip_mask"].sum())
        count += 1
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    return {"clips_per_s": clips / seconds, "batches": count, "clips_per_cpu_s": clips / max(1e-9, cpu),
            "main_cpu_share": cpu / seconds}


def _training_rate(store: TrailerStore, threads: int, quick: bool) -> dict:
    """The shipped model's coarse training rate on ``store`` (model only, pre-read batches), trailers and clips/s."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        config = ModelConfig.for_store(store.manifest, **SHIPPED_MODEL)
        net = MMXModel(config)
        optimiser = torch.optim.AdamW(net.parameters(), fused=True)
        batches = train_batches(store, config, 2 if quick else 4)
        train_rate(net, optimiser, batches[:1], CPU, 1)  # warm-up
        trailers_per_s = train_rate(net, optimiser, batches, CPU, 2 if quick else 3)
    finally:
        torch.set_num_threads(previous)
    clips_per_trailer = sum(int(b["batch"]["clip_mask"].sum()) for b in batches) / sum(len(b["index"]) for b in batches)
    return {"trailers_per_s": trailers_per_s, "clips_per_trailer": clips_per_trailer,
            "clips_per_s": trailers_per_s * clips_per_trailer, "params": sum(p.numel() for p in net.parameters()),
            "load": os.getloadavg()[0]}


def _loader_table(store: TrailerStore, training_clips_per_s: float, quick: bool) -> Table:
    """Clips/s read from ``store`` into reused buffers, float32 and float16, against the training clip rate."""
    load = Table(
        "Loader (memory-mapped store -> padded batch), real dims, against the training rate",
        ["path", "features", "batches", "clips/s delivered", "clips/s as float32",
         "x training clip rate", "clips per CPU-second", "main process CPU share", "load average"],
        note=f"Batches of {BATCH} shuffled trailers (the shipped training batch), {SEQUENCES} random sequences "
             "each (coarse training's draw); the set was just written, so it is in the page cache (warm). "
             "Clips counted from clip_mask; the first batch (which grows the buffers) is not timed; best of 2 "
             "passes. 'batch read' is `read_batch` (one gather from the memory map into the padded batch) into "
             "buffers reused from batch to batch in the training process: what `train` does on the CPU. "
             "'clips/s as float32' also makes every batch model-ready (float16 features cast to float32 into "
             "reused memory by `to_device`); 'x training clip rate' divides it by the training rate above. "
             f"The training process uses torch's default {torch.get_num_threads()} threads (the reads "
             "themselves run on one: they are bound by memory bandwidth). 'load average' is the 1-minute load "
             f"on the machine's {os.cpu_count()} cores when the row was measured; 'clips per CPU-second' "
             "depends less on it. 'main process CPU share' is the share of wall time the training process "
             "spent on loading.")
    sequences = TrailerSequences(store, np.arange(store.n_trailers), "sample", SEQUENCES, seed=0)
    batches = [b for epoch in range(2 if quick else 3) for b in epoch_batches(store.n_trailers, BATCH, 1, 0, epoch)]
    buffers = BatchBuffers()
    for dtype in (torch.float32, torch.float16):
        def factory(dtype=dtype):  # what `train` does: each batch read into the same reused buffers
            return (sequences.batch(rows, dtype=dtype, buffers=buffers) for rows in batches)

        delivered = max((_loader_rate(factory, False) for _ in range(2)), key=lambda r: r["clips_per_s"])
        ready = max(_loader_rate(factory, True)["clips_per_s"] for _ in range(2))
        load.rows.append(["batch read into reused buffers (training loop)", str(dtype).replace("torch.", ""),
                          delivered["batches"], delivered["clips_per_s"], ready, ready / training_clips_per_s,
                          delivered["clips_per_cpu_s"], delivered["main_cpu_share"], os.getloadavg()[0]])
    return load


def run(quick: bool = False) -> list[Table]:
    n = 160 if quick else 1500
    root = Path(tempfile.mkdtemp(prefix="mmx-bench-data-"))
    try:
        gen = Table(
            "Generator (synth --latent planted, real dims 2048/2048/512/128, float16)",
            ["trailers", "clips", "seconds", "trailers/s", "clips/s", "MB on disk", "MB/s written", "peak RSS MB"],
            note=f"One process; numpy uses the machine's {os.cpu_count()} cores for the projections. Default knobs "
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

        rates = {threads: _training_rate(store, threads, quick) for threads in (1, 2)}
        training = max(rates.values(), key=lambda rate: rate["clips_per_s"])
        train = Table(
            "Training rate the loader must keep up with (shipped model, measured in this run)",
            ["model", "threads", "batch (trailers)", "trailers/s", "clips/trailer", "clips/s", "load average"],
            [[f"shipped ({rate['params'] / 1e6:.2f} M parameters)", threads, BATCH, rate["trailers_per_s"],
              rate["clips_per_trailer"], rate["clips_per_s"], rate["load"]] for threads, rate in rates.items()],
            note="Coarse training steps (forward, BCE, backward, AdamW) of the shipped configuration on batches "
                 "read beforehand from this set: the rate at which training consumes clips, model only, best of "
                 "3 repeats. The loader table compares with the faster thread count.")

        load = _loader_table(store, training["clips_per_s"], quick)

        with timer() as tv:
            from mmx_core.data.validate import validate_dataset

            ok = validate_dataset(path).ok
        val = Table("Validation (full, with NaN/Inf scan)", ["trailers", "clips", "MB", "seconds", "MB/s", "ok"],
                    [[n, store.n_clips, size / 1e6, tv["seconds"], size / 1e6 / tv["seconds"], ok]])
        return [gen, train, load, val]
    finally:
        shutil.rmtree(root, ignore_errors=True)
