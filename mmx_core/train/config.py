"""TrainConfig: one training run's settings, validated once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmx_core.base.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DEVICES, PRECISIONS
from mmx_core.base.errors import MMXError
from mmx_core.model.config import ModelConfig

__all__ = ["TrainConfig", "STAGES", "DEFAULT_TAG_WEIGHT", "DEFAULT_TAG_PROTOTYPE_WEIGHT", "TAG_TEMPERATURE"]

STAGES = ("coarse", "fine")


STAGE_RECIPES: dict[str, dict[str, float | int]] = {
    "coarse": {"epochs": 10, "batch_size": 64, "lr": 1e-3, "patience": 3},
    "fine": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "patience": 0},
}
"""The documented recipe of each stage (docs/model.md), which the shipped models were trained with and
``python -m mmx_core train`` uses when an option is not given. Coarse: early stopping on validation
AU(PRC)w; fine: a fixed budget, last epoch kept (its validation loss bottoms out long before sub-genre
recovery peaks)."""

DEFAULT_TAG_WEIGHT = 0.25
"""Weight of the supervised contrastive term of a ``--tags`` fine run
(``loss = nt_xent + w * supcon + tag_prototype_weight * prototype``).

Chosen on planted tuning sets made with data seed 0 (1,000 and 2,000 trailers, 10 % of each sub-genre's
training trailers tagged, :mod:`mmx_core.studies.tag_teaching`) among 0.1 to 2, with SupCon alone: 0.25 tied 0.5
for the best precision@10 among untagged trailers on the smaller set and was the best on the larger one, where
weights of 1 and more did worse than no tags. ``python -m benchmarks tags`` writes the sweep (seed 0, with the
prototype term now on) and the held-out result (data seeds 1-3, never used for any choice) into
docs/benchmarks.md; docs/model.md quotes them."""
DEFAULT_TAG_PROTOTYPE_WEIGHT = 0.5
"""Weight of the prototype term of a ``--tags`` fine run (:func:`mmx_core.train.losses.prototype_loss`: each tagged
trailer against the prototypes of every tag, refreshed each epoch); 0 turns it off.

Chosen by hand on planted tuning sets (data seeds 0 and 100, 1,000 and 2,000 trailers, one run each) together
with :data:`mmx_core.train.sampling.TAG_SHARE`: with a quarter of each batch tagged and SupCon alone the mean
gain over the four sets was +0.051; three quarters tagged, +0.076; adding this term at 0.5, 1 or 2, +0.095,
+0.093 and +0.091 (about the seed-to-seed noise apart); pseudo-tags propagated to untagged trailers near a
tag's prototype added nothing beyond it (+0.096) and were dropped. The seed-0 rows of the tuning table in
docs/benchmarks.md show the weight sweep."""
TAG_TEMPERATURE = 0.1
"""Temperature of the supervised contrastive term (the SupCon paper's value); NT-Xent keeps ``temperature``.
With the term on the bottleneck, it beat the term on the projections at 0.5 on the same tuning sets (by hand, one
run each; the outputs were not kept)."""


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
        "auto" = CUDA when available, else CPU.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Autocast of the forward passes (:func:`~mmx_core.base.devices.resolve_precision`): "auto" = bfloat16
        on a CPU with bfloat16 matrix units, float16 (with a GradScaler) on CUDA, else float32; "fp32" trains
        exactly as a float32 run. What ran, and why, is recorded in config.json's ``"precision"``.
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
    tags : str or Path, optional
        Fine stage only: an annotations CSV (columns ``id,tag``, :func:`mmx_core.annotations.table.read_tags`).
        Training trailers sharing a tag become positives of each other in a supervised contrastive term on
        the bottleneck embedding (:func:`mmx_core.train.losses.supervised_contrastive`, temperature
        :data:`TAG_TEMPERATURE`) added to NT-Xent on the projections, and batches hold groups of
        trailers sharing a tag (:func:`mmx_core.train.sampling.tag_batches`). None: the plain fine stage,
        bit for bit. The run records the file's path, SHA-256 and counts in config.json (``"tags"``).
    tag_weight : float
        Weight ``w`` of that term, ``loss = nt_xent + w * supcon + p * prototype``; > 0. Default
        :data:`DEFAULT_TAG_WEIGHT`, tuned on a planted tuning set (data seed 0) and reported on held-out seeds
        (docs/model.md).
    tag_prototype_weight : float
        Weight ``p`` of the prototype term (:func:`mmx_core.train.losses.prototype_loss`, on the bottleneck,
        temperature :data:`TAG_TEMPERATURE`): each tagged training trailer against the prototypes of every tag,
        made of the tagged trailers' embeddings at the start of the epoch; >= 0, 0 turns it off. Default
        :data:`DEFAULT_TAG_PROTOTYPE_WEIGHT`. Recorded in config.json like every field.
    """

    stage: str = "coarse"
    data: str | Path = ""
    out: str | Path = ""
    init: str | Path | None = None
    epochs: int = 20
    batch_size: int = 32
    device: str = DEFAULT_DEVICE
    precision: str = DEFAULT_PRECISION
    seed: int = 0
    model: ModelConfig | None = None
    resume: bool = False
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 5
    temperature: float = 0.5
    log_every: int = 10
    tags: str | Path | None = None
    tag_weight: float = DEFAULT_TAG_WEIGHT
    tag_prototype_weight: float = DEFAULT_TAG_PROTOTYPE_WEIGHT

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
        if self.precision not in PRECISIONS:  # one the device cannot run is refused when the run resolves it
            raise MMXError(f"precision={self.precision!r} is not one of {list(PRECISIONS)}")
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
        if self.tags is not None and self.stage != "fine":
            raise MMXError(f"tags={str(self.tags)!r} teaches the fine stage only, not stage={self.stage!r}; "
                           "drop --tags or pass --stage fine")
        if isinstance(self.tag_weight, bool) or not isinstance(self.tag_weight, (int, float)) \
                or not self.tag_weight > 0 or not self.tag_weight < float("inf"):
            raise MMXError(f"tag_weight={self.tag_weight!r} must be a number > 0")
        if isinstance(self.tag_prototype_weight, bool) or not isinstance(self.tag_prototype_weight, (int, float)) \
                or not 0 <= self.tag_prototype_weight < float("inf"):
            raise MMXError(f"tag_prototype_weight={self.tag_prototype_weight!r} must be a number >= 0 (0: no "
                           "prototype term)")
        if self.model is not None:
            self.model.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (paths as strings). What a ``--tags`` run read (the file's SHA-256
        and counts) is recorded beside them by the loop, in config.json's ``"tags"``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("data", "out", "init", "tags"):
            out[key] = None if out[key] is None else str(out[key])
        out["model"] = None if self.model is None else self.model.to_dict()
        return out
