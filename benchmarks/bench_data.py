"""Data layer throughput: the generator (trailers/s, clips/s); the loader (clips/s from the memory-mapped
store, per read path, in the training process and with 2 DataLoader workers, float16 and float32
features) against the shipped model's training clip rate measured in the same run; validation."""

from __future__ import annotations

import os
import resource
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
from mmx_core.train.sampling import TrailerSequences, batch_loader, collate_items

CPU = torch.device("cpu")
SEQUENCES = SHIPPED_MODEL["train_sequences"]


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _shuffled_batches(n: int, passes: int) -> list[np.ndarray]:
    """Full batches of BATCH positions from ``passes`` shuffles of ``0..n-1`` (what training draws)."""
    batches = []
    for seed in range(passes):
        order = np.random.default_rng([seed, 7]).permutation(n)
        batches += [order[i:i + BATCH] for i in range(0, n - BATCH + 1, BATCH)]
    return batches


def _loader_rate(batches: Callable[[], Iterable[dict]], workers: int, as_float32: bool) -> dict:
    """Steady-state rate of one pass over ``batches()``: wall clock, and per CPU-second of all processes.

    With ``as_float32`` each batch is also made model-ready in this process (float16 features cast into
    reused float32 memory by ``to_device``; a no-op for float32 batches).
    """
    consumer = BatchBuffers()
    iterator = iter(batches())
    first = next(iterator)  # worker start-up is not part of the steady-state rate
    first_clips = int(first["batch"]["clip_mask"].sum())
    del first
    clips = count = 0
    cpu0, child0 = time.process_time(), _children_cpu()
    start = time.perf_counter()
    for batch in iterator:
        if as_float32:
            batch = to_device(batch, CPU, consumer)
        clips += int(batch["batch"]["clip_mask"].sum())
        count += 1
    seconds = time.perf_counter() - start
    main_cpu = time.process_time() - cpu0
    del iterator  # joins the workers, so their CPU time is counted (it includes the first batch)
    worker_cpu = _children_cpu() - child0
    cpu_clips = clips + (first_clips if workers else 0)
    return {"clips_per_s": clips / seconds, "batches": count,
            "clips_per_cpu_s": cpu_clips / max(1e-9, main_cpu + worker_cpu), "main_cpu_share": main_cpu / seconds}


def _read_paths(sequences: TrailerSequences, batches: list[np.ndarray]) -> list[tuple]:
    """(path, workers, features dtype, factory of a batch iterator) for every loader row."""
    buffers = BatchBuffers()

    def items(workers):  # per-trailer TrailerStore.read, then collate_items (collate_clips)
        return lambda: torch.utils.data.DataLoader(sequences, batch_sampler=batches, num_workers=workers,
                                                   collate_fn=collate_items)

    def loader(workers, dtype):
        return lambda: batch_loader(sequences, batches, workers, dtype=dtype)

    def reused(dtype):
        return lambda: (sequences.batch(rows, dtype=dtype, buffers=buffers) for rows in batches)

    rows = [("per-trailer read + collate_items", w, torch.float32, items(w)) for w in (0, 2)]
    rows += [("batch read, batch_loader", w, d, loader(w, d)) for w in (0, 2) for d in (torch.float16, torch.float32)]
    rows += [("batch read into reused buffers (training loop)", 0, d, reused(d))
             for d in (torch.float32, torch.float16)]
    return rows


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
            note="Coarse training steps (forward, BCE, backward, AdamW) of the shipped configuration on batches "
                 "read beforehand from this set: the rate at which training consumes clips, model only, best of "
                 "3 repeats. The loader table compares with the faster thread count.")
        for threads, rate in rates.items():
            train.rows.append([f"shipped ({rate['params'] / 1e6:.2f} M parameters)", threads, BATCH,
                               rate["trailers_per_s"], rate["clips_per_trailer"], rate["clips_per_s"], rate["load"]])

        load = Table(
            "Loader (memory-mapped store -> padded batch), real dims, against the training rate",
            ["path", "workers", "features", "batches", "clips/s delivered", "clips/s as float32",
             "x training clip rate", "clips per CPU-second", "main process CPU share", "load average"],
            note=f"Batches of {BATCH} shuffled trailers (the shipped training batch), {SEQUENCES} random sequences "
                 "each (coarse training's draw); the set was just written, so it is in the page cache (warm). "
                 "Clips counted from clip_mask; the first batch (worker start-up) is not timed; best of 2 passes. "
                 "'per-trailer read + collate_items' is the item API (`TrailerStore.read` per trailer, then "
                 "`collate_clips`, whose tensors torch moves to shared memory one by one in workers); 'batch read' "
                 "is `read_batch` (one gather from the memory map into the padded batch), through `batch_loader` "
                 "(with workers: each builds whole batches and sends each as one shared-memory block, recycled "
                 "once the training process has let go of it) or into reused buffers in the training process "
                 "(what `train` does on the CPU). 'clips/s as float32' also makes every batch model-ready in the "
                 "training process (float16 features cast to float32 into reused memory by `to_device`); "
                 "'x training clip rate' divides it by the training rate above. The training process uses "
                 f"torch's default {torch.get_num_threads()} threads (the reads themselves run on one: they are "
                 "bound by memory bandwidth). 'load average' is the 1-minute load on the machine's "
                 f"{os.cpu_count()} cores when the "
                 "row was measured (it includes this benchmark's own worker processes); 'clips per CPU-second' "
                 "(CPU time of the main process and the workers) depends less on it. 'main process CPU share' is "
                 "the share of wall time the training process spent on loading.")
        sequences = TrailerSequences(store, np.arange(store.n_trailers), "sample", SEQUENCES, seed=0)
        batches = _shuffled_batches(store.n_trailers, 2 if quick else 3)
        for path_name, workers, dtype, factory in _read_paths(sequences, batches):
            delivered = max((_loader_rate(factory, workers, False) for _ in range(2)), key=lambda r: r["clips_per_s"])
            ready = max(_loader_rate(factory, workers, True)["clips_per_s"] for _ in range(2))
            load.rows.append([path_name, workers, str(dtype).replace("torch.", ""), delivered["batches"],
                              delivered["clips_per_s"], ready, ready / training["clips_per_s"],
                              delivered["clips_per_cpu_s"], delivered["main_cpu_share"], os.getloadavg()[0]])

        with timer() as tv:
            from mmx_core.data.validate import validate_dataset

            ok = validate_dataset(path).ok
        val = Table("Validation (full, with NaN/Inf scan)", ["trailers", "clips", "MB", "seconds", "MB/s", "ok"])
        val.rows.append([n, store.n_clips, size / 1e6, tv["seconds"], size / 1e6 / tv["seconds"], ok])
        return [gen, train, load, val]
    finally:
        shutil.rmtree(root, ignore_errors=True)
