"""TrainConfig: one training run's settings, validated once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmx_core.base.devices import DEFAULT_DEVICE, DEVICES
from mmx_core.base.errors import MMXError
from mmx_core.model.config import ModelConfig

__all__ = ["TrainConfig", "STAGES"]

STAGES = ("coarse", "fine")


STAGE_RECIPES: dict[str, dict[str, float | int]] = {
    "coarse": {"epochs": 10, "batch_size": 64, "lr": 1e-3, "patience": 3},
    "fine": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "patience": 0},
}
"""The documented recipe of each stage (docs/model.md), which the shipped models were trained with and
``python -m mmx_core train`` uses when an option is not given. Coarse: early stopping on validation
AU(PRC)w; fine: a fixed budget, last epoch kept (its validation loss bottoms out long before sub-genre
recovery peaks)."""


@dataclass
class TrainConfig:
    """Settings of :func:`mmx_core.train.train`.

    Parameters
    ----------
    stage : {"coarse", "fine"}
        "coarse": genre classification (BCE with logits); "fine": contrastive
        fine-tuning (NT-Xent between two halves of a trailer).
    data : str or Path
        Trailer data set folder.
    out : str or Path
        Run folder (checkpoints, events.jsonl, status.json, config.json).
    init : str or Path, optional
        Checkpoint file or run folder (its best checkpoint) to start from; the
        fine stage starts from a coarse checkpoint.
    epochs, batch_size : int
        Maximum epochs; trailers per optimiser step (the global batch under DDP).
    device : {"auto", "cpu", "cuda"}
        "auto" = CUDA (with mixed precision) when available, else CPU.
    seed : int
        Seeds initialisation, sampling, shuffling and dropout.
    model : ModelConfig, optional
        Model sizes; default: :meth:`ModelConfig.for_store` of the data set (or
        the ``init`` checkpoint's config).
    resume : bool
        Continue from ``out/checkpoints/last.pt``.
    lr, weight_decay : float
        AdamW settings.
    patience : int
        Early stopping: stop after this many epochs without improvement of the
        validation metric (AU(PRC) weighted for coarse, loss for fine), keeping
        the best epoch. 0: no early stopping, train all ``epochs`` and keep the
        last one (what the fine stage wants: its validation loss stops falling
        long before its sub-genre neighbourhoods stop improving, docs/model.md).
    temperature : float
        NT-Xent temperature (the paper: 0.5).
    log_every : int
        Write a step event every this many steps.
    """

    stage: str = "coarse"
    data: str | Path = ""
    out: str | Path = ""
    init: str | Path | None = None
    epochs: int = 20
    batch_size: int = 32
    device: str = DEFAULT_DEVICE
    seed: int = 0
    model: ModelConfig | None = None
    resume: bool = False
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    temperature: float = 0.5
    log_every: int = 10

    @classmethod
    def recipe(cls, stage: str, **options) -> "TrainConfig":
        """The stage's :data:`STAGE_RECIPES` with ``options`` (None values ignored) on top."""
        if stage not in STAGE_RECIPES:
            raise MMXError(f"stage={stage!r} is not one of {list(STAGE_RECIPES)}")
        given = {k: v for k, v in options.items() if v is not None}
        return cls(stage=stage, **{**STAGE_RECIPES[stage], **given})

    def validate(self) -> "TrainConfig":
        if self.stage not in STAGES:
            raise MMXError(f"stage={self.stage!r} is not one of {list(STAGES)}")
        if self.device not in DEVICES:  # a missing GPU is reported when the run resolves its device
            raise MMXError(f"device={self.device!r} is not one of {list(DEVICES)}")
        if not str(self.data):
            raise MMXError("no data set given; pass --data DIR")
        if not str(self.out):
            raise MMXError("no run folder given; pass --out RUN_DIR")
        for name in ("epochs", "batch_size", "patience", "log_every"):
            value, lowest = getattr(self, name), 0 if name == "patience" else 1
            if not isinstance(value, int) or value < lowest:
                raise MMXError(f"{name}={value!r} must be an integer >= {lowest}")
        if self.stage == "fine" and self.batch_size < 2:
            raise MMXError(f"batch_size={self.batch_size}: the fine stage needs at least 2 trailers a batch "
                           "(the other trailers are the negatives)")
        if not (self.lr > 0 and self.temperature > 0 and self.weight_decay >= 0):
            raise MMXError(f"lr={self.lr}, temperature={self.temperature} must be > 0 and "
                           f"weight_decay={self.weight_decay} >= 0")
        if self.model is not None:
            self.model.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("data", "out", "init"):
            out[key] = None if out[key] is None else str(out[key])
        out["model"] = None if self.model is None else self.model.to_dict()
        return out
