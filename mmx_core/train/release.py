"""The shipped encoders: generate the published-latent data, train both stages, export, embed, describe.

:func:`make_models` is what ``python -m mmx_core make-models`` (and ``make models``)
runs. Each step reuses what an earlier, interrupted call finished: the data set
is generated once, the runs resume from their last checkpoint.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..artefacts import atomic_write, write_json
from ..data import TrailerStore
from ..errors import MMXError
from ..evaluate.metrics import genre_metrics
from ..model import ModelConfig
from ..paths import MODELS_DIR, data_dir, runs_dir
from .api import embed_store, predict_scores, write_embeddings
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .config import TrainConfig
from .loop import train

__all__ = ["ReleaseConfig", "make_models", "export_checkpoint", "SHIPPED_MODEL"]

log = logging.getLogger(__name__)

# The shipped size: small enough to train on 2 CPU cores in minutes (docs/model.md, "Training budget").
SHIPPED_MODEL = dict(shared_dim=128, sequence_dim=256, bottleneck_dim=256, gating_hidden=128, head_hidden=256,
                     projection_dim=128, vlad_clusters=16, vlad_ghost_clusters=1, train_sequences=4, dropout=0.1)


@dataclass
class ReleaseConfig:
    """Settings of :func:`make_models` (defaults = the shipped models)."""

    data: Path = field(default_factory=lambda: data_dir() / "published")
    runs: Path = field(default_factory=lambda: runs_dir() / "make-models")
    out: Path = MODELS_DIR
    seed: int = 0
    trailers: int | None = None
    coarse_epochs: int = 10
    fine_epochs: int = 10
    batch_size: int = 64
    coarse_lr: float = 1e-3
    fine_lr: float = 5e-4
    patience: int = 3
    device: str = "auto"
    threads: int | None = None


def export_checkpoint(source: Path, target: Path) -> Path:
    """Copy a checkpoint without the optimiser state (what inference needs; about a third of the size)."""
    state = read_checkpoint(source)
    state["optimiser"] = {}
    state["scaler"] = {}
    save_checkpoint(target, state)
    return target


def make_models(config: ReleaseConfig) -> dict[str, Any]:
    """Generate data, train coarse then fine, export both, embed every trailer, write the model card."""
    if config.threads:
        torch.set_num_threads(config.threads)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = Path(config.data)
    tick = time.perf_counter()
    if not (data / "manifest.json").exists():
        from ..data import synthesize

        log.info("generating the published-latent data set in %s", data)
        synthesize(data, n_trailers=config.trailers, seed=config.seed, latent="published",
                   command=f"synth --latent published --seed {config.seed} --out {data}")
    store = TrailerStore.open(data)
    if store.manifest.generator.get("latent") != "published":
        raise MMXError("this data set was not generated with --latent published; point --data elsewhere", data)
    timings["data_s"] = time.perf_counter() - tick

    model = ModelConfig.for_store(store.manifest, **SHIPPED_MODEL)
    common = dict(data=data, batch_size=config.batch_size, device=config.device, seed=config.seed,
                  patience=config.patience, resume=True)
    tick = time.perf_counter()
    coarse_run = train(TrainConfig(stage="coarse", out=config.runs / "coarse", epochs=config.coarse_epochs,
                                   model=model, lr=config.coarse_lr, **common))
    timings["coarse_s"] = time.perf_counter() - tick
    tick = time.perf_counter()
    fine_run = train(TrainConfig(stage="fine", out=config.runs / "fine", epochs=config.fine_epochs, init=coarse_run,
                                 lr=config.fine_lr, **common))
    timings["fine_s"] = time.perf_counter() - tick

    out = Path(config.out)
    results: dict[str, Any] = {"timings": timings}
    tick = time.perf_counter()
    for stage, run in (("coarse", coarse_run), ("fine", fine_run)):
        target = export_checkpoint(run / "checkpoints" / "best.pt", out / f"{stage}.pt")
        checkpoint = load_checkpoint(target)
        ids, vectors = embed_store(store, checkpoint, device=config.device)
        write_embeddings(out / f"{stage}_embeddings.npz", ids, vectors, store, checkpoint)
        results[stage] = {"epoch": checkpoint.epoch, "metric_name": checkpoint.metric_name,
                          "best_metric": checkpoint.best_metric, "size_mb": target.stat().st_size / 1e6,
                          "history": checkpoint.state.get("history", [])}
    timings["export_embed_s"] = time.perf_counter() - tick
    scores, labels = predict_scores(store, out / "coarse.pt", "test", device=config.device)
    results["coarse_test"] = genre_metrics(scores, labels, store.genres).to_dict()
    results["neighbour_genre_overlap"] = {
        stage: _neighbour_genre_overlap(out / f"{stage}_embeddings.npz", store) for stage in ("coarse", "fine")}
    timings["total_s"] = time.perf_counter() - started
    results.update(config={k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()},
                   model=model.to_dict(), data_fingerprint=store.fingerprint, n_trailers=store.n_trailers,
                   machine=f"{platform.node()} ({torch.get_num_threads()} torch threads, "
                           f"{'CUDA' if torch.cuda.is_available() else 'CPU'})")
    write_json(out / "make_models.json", results)
    write_model_card(out / "README.md", results)
    return results


def _neighbour_genre_overlap(path: Path, store: TrailerStore, k: int = 10) -> float:
    """Mean Jaccard overlap of genre sets between each trailer and its k cosine neighbours."""
    from ..embeddings import load_embeddings

    vectors = load_embeddings(path).normalized()
    labels = store.labels().astype(bool)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    neighbours = np.argpartition(-similarity, k, axis=1)[:, :k]
    inter = (labels[:, None, :] & labels[neighbours]).sum(-1)
    union = (labels[:, None, :] | labels[neighbours]).sum(-1)
    return float(np.mean(inter / np.maximum(union, 1)))


def write_model_card(path: Path, results: dict[str, Any]) -> None:
    from .model_card import render_model_card

    with atomic_write(path, "w") as handle:
        handle.write(render_model_card(results))
