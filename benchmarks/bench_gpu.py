"""Every GPU path against its CPU path on small data, in one command: ``python -m benchmarks gpu``.

Both training stages with mixed precision, embedding, extraction with autocast (``--device cuda``, the
commands people run), faiss on the GPU and cuML's UMAP and HDBSCAN when installed. Each GPU result is checked
against the CPU result of the same inputs (float32 on the CPU). Without a CUDA GPU it says so in one line,
measures nothing and keeps the previous block (CI runs it this way).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.harness import Table, feature_cosines, row_cosines

MIN_COSINE = 0.99
"""Least mean cosine between GPU (reduced precision) and CPU (float32) features or embeddings."""
MAX_METRIC_GAP = 0.05
"""Largest gap of the validation AU(PRC)w between a GPU and a CPU training run of the same seed."""
MIN_RECALL = 0.99
"""Least share of the CPU's exact 10 nearest neighbours the GPU index finds."""


def _cli(*argv: str) -> float:
    """Run one command in this process; its wall seconds (a failure raises)."""
    from mmx_core.cli import main

    start = time.perf_counter()
    code = main([str(a) for a in argv])
    if code != 0:
        raise RuntimeError(f"python -m mmx_core {' '.join(map(str, argv))} exited {code}")
    return time.perf_counter() - start


def _best_metric(run: Path) -> float:
    history = json.loads((run / "status.json").read_text()).get("history") or []
    return max(float(h.get("auprc_weighted", float("nan"))) for h in history) if history else float("nan")


def _training_and_embedding(tmp: Path, quick: bool) -> list[list]:
    from mmx_core.trailers.embeddings import load_embeddings
    from mmx_core.data import synthesize

    data = synthesize(tmp / "planted", 200 if quick else 800, 0, latent="planted")
    runs = {}
    for device, precision in (("cuda", "auto"), ("cpu", "fp32")):
        coarse, fine = tmp / f"coarse-{device}", tmp / f"fine-{device}"
        seconds = _cli("train", "--stage", "coarse", "--data", data, "--out", coarse, "--device", device,
                       "--precision", precision, "--epochs", 3, "--seed", 0)
        seconds_fine = _cli("train", "--stage", "fine", "--data", data, "--init", coarse, "--out", fine,
                            "--device", device, "--precision", precision, "--epochs", 3, "--seed", 0)
        runs[device] = (coarse, fine, seconds, seconds_fine)
    gap = abs(_best_metric(runs["cuda"][0]) - _best_metric(runs["cpu"][0]))
    out = {}
    for device, precision in (("cuda", "auto"), ("cpu", "fp32")):    # one checkpoint, embedded on both
        out[device] = tmp / f"embed-{device}.npz"
        out[device + "_s"] = _cli("embed", "--data", data, "--model", runs["cpu"][1], "--out", out[device],
                                  "--device", device, "--precision", precision)
    cosine = float(row_cosines(load_embeddings(out["cuda"]).vectors, load_embeddings(out["cpu"]).vectors).mean())
    return [["train coarse (AMP)", runs["cuda"][2], runs["cpu"][2], "validation AU(PRC)w gap", gap,
             gap <= MAX_METRIC_GAP],
            ["train fine (AMP)", runs["cuda"][3], runs["cpu"][3], "finished", 1.0, True],
            ["embed", out["cuda_s"], out["cpu_s"], "mean cosine to the CPU", cosine, cosine >= MIN_COSINE]]


def _extraction(tmp: Path) -> list[list]:
    from benchmarks.bench_extract import make_trailer

    videos = tmp / "videos"
    videos.mkdir()
    make_trailer(videos / "trailer.mp4", 12.0, size=(320, 180))
    stores, seconds = {}, {}
    for device, precision in (("cuda", "auto"), ("cpu", "fp32")):
        stores[device] = tmp / f"extract-{device}"
        seconds[device] = _cli("extract", videos, "--out", stores[device], "--device", device, "--precision",
                               precision, "--untrained", "--workers", 0)
    cosines = {expert: float(c.mean()) for expert, c in feature_cosines(stores["cuda"], stores["cpu"]).items()}
    return [[f"extract: {expert} expert (autocast)", seconds["cuda"], seconds["cpu"], "mean cosine to the CPU",
             cosine, cosine >= MIN_COSINE] for expert, cosine in cosines.items()]


def _faiss() -> list[list]:
    from mmx_core.explore import faiss_index
    from mmx_core.explore.neighbours import NeighbourIndex, recall_at_k

    if not faiss_index.gpu_ready():
        return [["faiss on the GPU", float("nan"), float("nan"), "not installed (faiss-gpu-cu12)", float("nan"), True]]
    X = np.random.default_rng(0).normal(size=(20_000, 256)).astype(np.float32)
    timed = {}
    for device in ("cuda", "cpu"):
        start = time.perf_counter()
        rows, _ = NeighbourIndex(backend="exact", device=device).build(X).query(np.arange(2000), k=10)
        timed[device] = (time.perf_counter() - start, rows)
    recall = recall_at_k(timed["cuda"][1], timed["cpu"][1])
    return [["faiss exact search", timed["cuda"][0], timed["cpu"][0], "recall@10 of the CPU's", recall,
             recall >= MIN_RECALL]]


def _cuml() -> list[list]:
    from mmx_core.trailers.published import load_published
    from mmx_core.explore.backends import cuml_problem
    from mmx_core.explore.clustering import SubgenreClusterer

    if cuml_problem():
        return [["cuML UMAP + HDBSCAN", float("nan"), float("nan"), "not installed", float("nan"), True]]
    X = load_published().vectors
    found = {}
    for backend in ("cuml", "cpu"):
        start = time.perf_counter()
        model = SubgenreClusterer(backend=backend).fit(X)
        found[backend] = (time.perf_counter() - start, model.n_clusters_)
    ratio = found["cuml"][1] / max(1, found["cpu"][1])
    return [["cuML sub-genres (published set)", found["cuml"][0], found["cpu"][0], "clusters, GPU / CPU", ratio,
             0.5 <= ratio <= 2.0]]


def run(quick: bool = False) -> list[Table]:
    if not torch.cuda.is_available():
        print("benchmarks gpu: torch sees no CUDA GPU on this machine; nothing measured, the previous block kept",
              flush=True)
        return []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows = [*_training_and_embedding(tmp, quick), *_extraction(tmp), *_faiss(), *_cuml()]
    note = (f"{torch.cuda.get_device_name(0)}. Each GPU path against the CPU path (float32) on the same inputs: "
            f"mean cosine >= {MIN_COSINE} for features and embeddings, validation AU(PRC)w within "
            f"{MAX_METRIC_GAP}, recall@10 >= {MIN_RECALL}.")
    return [Table("GPU paths against the CPU", ["path", "GPU s", "CPU s", "check", "value", "ok"],
                  [[*r[:5], "yes" if r[5] else "NO"] for r in rows], note=note)]
