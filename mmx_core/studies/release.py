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

from mmx_core.base.artefacts import atomic_write, read_json, write_json
from mmx_core.data import TrailerStore
from mmx_core.base.errors import MMXError
from mmx_core.trailers.metrics import genre_metrics
from mmx_core.model import ModelConfig
from mmx_core.studies.model_card import render_model_card
from mmx_core.base.paths import MODELS_DIR, data_dir, display_path, runs_dir
from mmx_core.train.inference import embed_store, predict_scores, write_embeddings
from mmx_core.train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from mmx_core.train.config import STAGE_RECIPES, TrainConfig
from mmx_core.train.loop import train

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
    coarse_epochs: int = STAGE_RECIPES["coarse"]["epochs"]
    fine_epochs: int = STAGE_RECIPES["fine"]["epochs"]
    batch_size: int = STAGE_RECIPES["coarse"]["batch_size"]
    coarse_lr: float = STAGE_RECIPES["coarse"]["lr"]
    fine_lr: float = STAGE_RECIPES["fine"]["lr"]
    patience: int = STAGE_RECIPES["coarse"]["patience"]  # early stopping on validation AU(PRC)w
    fine_patience: int = STAGE_RECIPES["fine"]["patience"]  # the whole budget (docs/model.md, "The style shortcut")
    device: str = "auto"
    threads: int | None = None


def _started(run: Path) -> bool:
    """Whether an earlier call left ``run`` with a checkpoint to continue from (make-models is re-runnable)."""
    return (Path(run) / "checkpoints" / "last.pt").is_file()


def export_checkpoint(source: Path, target: Path) -> Path:
    """Copy a checkpoint without the optimiser state (what inference needs; about a third of the size)."""
    state = read_checkpoint(source)
    state.update(optimiser={}, scaler={})
    save_checkpoint(target, state)
    return target


def _knobs_other_than_defaults(generator: dict[str, Any]) -> str:
    """The generator knobs recorded in a manifest that differ from today's published-latent defaults ("" if none).

    A knob missing from the manifest (added to the generator later) counts as its default when that
    default reproduces the earlier behaviour, so only recorded values are compared.
    """
    from mmx_core.data.synth import SynthConfig

    defaults = SynthConfig(latent="published").to_params()
    differ = [f"{key} {generator[key]!r}, default {value!r}" for key, value in defaults.items()
              if key in generator and _as_plain(generator[key]) != _as_plain(value)]
    return "; ".join(differ)


def _as_plain(value: Any) -> Any:
    """Tuples and lists compare equal (a manifest stores JSON lists)."""
    return [_as_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _published_data(config: ReleaseConfig, timings: dict[str, float]) -> tuple[Path, TrailerStore]:
    """The published-latent data set (generated on the first call), checked against today's generator defaults.

    Records its generation time in ``timings["data_s"]`` (from the call that generated it).
    """
    data = Path(config.data)
    tick = time.perf_counter()
    if not (data / "manifest.json").exists():
        from mmx_core.data import synthesize

        log.info("generating the published-latent data set in %s", data)
        synthesize(data, n_trailers=config.trailers, seed=config.seed, latent="published",
                   command=f"synth --latent published --seed {config.seed} --out {data}")
        write_json(Path(config.runs) / "data_seconds.json", {"data": str(data), "seconds": time.perf_counter() - tick})
    store = TrailerStore.open(data)
    if store.manifest.generator.get("latent") != "published":
        raise MMXError("this data set was not generated with --latent published; point --data elsewhere", data)
    stale = _knobs_other_than_defaults(store.manifest.generator)
    if stale:
        raise MMXError(f"this data set was generated with other generator settings than the current defaults "
                       f"({stale}); delete it (and {config.runs}) so that make-models regenerates it", data)
    timings["data_s"] = time.perf_counter() - tick
    recorded = Path(config.runs) / "data_seconds.json"
    if recorded.exists():  # generated by an earlier call: report that time
        timings["data_s"] = max(timings["data_s"], float(read_json(recorded).get("seconds", 0.0)))
    return data, store


def make_models(config: ReleaseConfig) -> dict[str, Any]:
    """Generate data, train coarse then fine, export both, embed every trailer, write the model card."""
    if config.threads:
        torch.set_num_threads(config.threads)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data, store = _published_data(config, timings)

    model = ModelConfig.for_store(store.manifest, **SHIPPED_MODEL)
    common = dict(data=data, batch_size=config.batch_size, device=config.device, seed=config.seed,
                  patience=config.patience)
    tick = time.perf_counter()
    coarse_run = train(TrainConfig(stage="coarse", out=config.runs / "coarse", epochs=config.coarse_epochs,
                                   model=model, lr=config.coarse_lr, resume=_started(config.runs / "coarse"),
                                   **common))
    timings["coarse_s"] = run_seconds(coarse_run, time.perf_counter() - tick)
    tick = time.perf_counter()
    fine_run = train(TrainConfig(stage="fine", out=config.runs / "fine", epochs=config.fine_epochs, init=coarse_run,
                                 lr=config.fine_lr, resume=_started(config.runs / "fine"),
                                 **{**common, "patience": config.fine_patience}))
    timings["fine_s"] = run_seconds(fine_run, time.perf_counter() - tick)

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
    timings["this_call_s"] = time.perf_counter() - started
    timings["total_s"] = sum(timings[k] for k in ("data_s", "coarse_s", "fine_s", "export_embed_s"))
    results.update(config={k: display_path(v) if isinstance(v, Path) else v for k, v in vars(config).items()},
                   model=model.to_dict(), data_fingerprint=store.fingerprint, n_trailers=store.n_trailers,
                   machine=f"{platform.node()} ({torch.get_num_threads()} torch thread(s), "
                           f"{'CUDA' if torch.cuda.is_available() else 'CPU'})")
    write_json(out / "make_models.json", results)
    with atomic_write(out / "README.md", "w") as handle:
        handle.write(render_model_card(results))
    return results


def run_seconds(run: Path, fallback: float) -> float:
    """Training time of a run from its events: the sum over its sessions (start to last event), so a
    reused or resumed run reports the time it trained, not the gaps between sessions."""
    import json
    from datetime import datetime

    try:
        events = [json.loads(line) for line in (Path(run) / "events.jsonl").read_text().splitlines()]
        times = [(e["event"], datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ")) for e in events]
    except (OSError, ValueError, KeyError):
        return fallback
    starts = [i for i, (kind, _) in enumerate(times) if kind == "start"]  # a session: a start to its last event
    total = sum((times[end - 1][1] - times[begin][1]).total_seconds()
                for begin, end in zip(starts, starts[1:] + [len(times)]))
    return max(total, fallback)


def _neighbour_genre_overlap(path: Path, store: TrailerStore, k: int = 10) -> float:
    """Mean Jaccard overlap of genre sets between each trailer and its k cosine neighbours."""
    from mmx_core.trailers.embeddings import load_embeddings
    from mmx_core.explore import NeighbourIndex

    vectors = load_embeddings(path).vectors
    labels = store.labels().astype(bool)
    neighbours, _ = NeighbourIndex(backend="exact").build(vectors).query(np.arange(len(vectors)), k=k)
    inter = (labels[:, None, :] & labels[neighbours]).sum(-1)
    union = (labels[:, None, :] | labels[neighbours]).sum(-1)
    return float(np.mean(inter / np.maximum(union, 1)))

