"""A run's model, optimiser and gradient scaler: fresh, from ``--init`` weights, or restored from ``last.pt``.

Each starting point is checked against the data set (genres, features, and for a resume the very same
data) before any training, so a mismatch stops with one line naming the checkpoint. Resuming restores
everything the checkpoint holds (model, optimiser, scaler, epoch, best metric, patience count, history,
torch RNG) after checking the run's tags and precision match what it trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch

from mmx_core.base.devices import ResolvedPrecision, resolve_precision
from mmx_core.base.errors import MMXError
from mmx_core.data import TrailerStore
from mmx_core.model import MMXModel, ModelConfig
from mmx_core.train.checkpoint import check_compatible, read_checkpoint, resolve_checkpoint_path
from mmx_core.train.config import TrainConfig
from mmx_core.train.tags import TrailerTags, check_resume_tags

__all__ = ["BuiltRun", "build_run", "initial_state"]


class BuiltRun(NamedTuple):
    model_config: ModelConfig
    model: MMXModel
    optimiser: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    progress: dict
    """``epoch``, ``best_metric``, ``best_epoch``, ``bad_epochs``, ``history`` (restored on resume)."""


def initial_state(config: TrainConfig, store: TrailerStore, out: Path,
                  last: Path) -> tuple[ModelConfig, dict | None, dict | None]:
    """``(model config, resume state or None, init state or None)`` of a run into ``out`` (``last``: its last.pt).

    Raises
    ------
    MMXError
        A new run into a folder holding checkpoints, ``--resume`` without one, model options or a stage other
        than the checkpoint's, a fine run without ``--init``, or a checkpoint that does not fit the data set.
    """
    if last.exists() and not config.resume:
        raise MMXError("run folder already holds checkpoints/last.pt; pass --resume to continue it or choose "
                       "another --out", out)
    if config.resume and not last.exists():
        raise MMXError("--resume but the run has no last checkpoint to continue from; drop --resume to start "
                       "a new run in another folder", last)
    init_state = None
    if config.resume or config.init is not None:
        source = last if config.resume else resolve_checkpoint_path(config.init)
        state = read_checkpoint(source)
        model_config = ModelConfig.from_dict(state["model_config"])
        if config.model is not None and config.model.to_dict() != model_config.to_dict():
            raise MMXError("--resume with model options other than the run's; drop them or choose another --out"
                           if config.resume else "model options differ from the --init checkpoint's; drop them", source)
        if config.resume and state["stage"] != config.stage:
            raise MMXError(f"the run was a {state['stage']} run, not {config.stage}", source)
        check_compatible(model_config, state["genres"], state["data_fingerprint"], store, source, need_same_data=True)
        if config.resume:
            return model_config, state, None
        init_state = state
    elif config.stage == "fine":
        raise MMXError("the fine stage starts from a coarse checkpoint: pass --init CHECKPOINT_OR_RUN")
    else:
        model_config = config.model or ModelConfig.for_store(store.manifest)
        model_config = ModelConfig.from_dict({**model_config.to_dict(), "n_genres": len(store.manifest.genres)})
    check_compatible(model_config, store.manifest.genres, None, store, None)
    return model_config.validate(), None, init_state


def build_run(config: TrainConfig, store: TrailerStore, out: Path, last: Path, device: torch.device,
              autocast: ResolvedPrecision, tags: TrailerTags | None) -> BuiltRun:
    """The model on ``device`` (the unused head frozen), its AdamW optimiser and scaler, restored from ``last``
    when the run resumes; ``autocast`` is the resolved precision, ``tags`` the run's trailer tags or None."""
    model_config, resume_state, init_state = initial_state(config, store, out, last)
    torch.manual_seed(config.seed)
    model = MMXModel(model_config)
    if init_state is not None:
        try:
            model.load_state_dict(init_state["model"])
        except (RuntimeError, TypeError, KeyError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise MMXError(f"the --init weights do not fit its model config ({reason}); pass a checkpoint "
                           "written by `python -m mmx_core train`", config.init) from None
    (model.projection_head if config.stage == "coarse" else model.coarse_head).requires_grad_(False)  # the unused head
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    scaler = torch.amp.GradScaler("cuda", enabled=autocast.dtype is torch.float16)  # bf16 needs none
    progress = {"epoch": 0, "best_metric": None, "best_epoch": 0, "bad_epochs": 0, "history": []}
    if resume_state is not None:
        check_resume_tags(resume_state.get("tags"), tags, last)
        was = (resume_state.get("train_config") or {}).get("precision")  # None: from before the choice existed
        if was is not None and resolve_precision(was, device).name != autocast.name:
            raise MMXError(f"--resume in {autocast.name}, but the run trained in "
                           f"{resolve_precision(was, device).name} (--precision {was}); pass --precision {was} "
                           "or start a new run", last)
        model.load_state_dict(resume_state["model"])
        optimiser.load_state_dict(resume_state["optimiser"])
        if resume_state.get("scaler"):
            scaler.load_state_dict(resume_state["scaler"])
        for key in progress:
            progress[key] = resume_state.get(key, progress[key])
        torch.set_rng_state(resume_state["rng"]["torch"])
    return BuiltRun(model_config, model, optimiser, scaler, progress)
