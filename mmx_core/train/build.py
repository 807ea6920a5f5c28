"""A run's model, optimiser and gradient scaler: fresh, from ``--init`` weights, or restored from ``last.pt``.

Resuming restores everything the checkpoint holds (model, optimiser, scaler, epoch, best metric, patience
count, history, torch RNG) after checking the run's tags and precision match what it trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch

from mmx_core.base.devices import ResolvedPrecision, resolve_precision
from mmx_core.base.errors import MMXError
from mmx_core.data import TrailerStore
from mmx_core.model import MMXModel, ModelConfig
from mmx_core.train.config import TrainConfig
from mmx_core.train.start import initial_state
from mmx_core.train.tags import TrailerTags, check_resume_tags

__all__ = ["BuiltRun", "build_run"]


class BuiltRun(NamedTuple):
    model_config: ModelConfig
    model: MMXModel
    optimiser: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    progress: dict
    """``epoch``, ``best_metric``, ``best_epoch``, ``bad_epochs``, ``history`` (restored on resume)."""


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
