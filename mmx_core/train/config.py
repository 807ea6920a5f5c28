"""TrainConfig: one training run's settings, validated once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmx_core.base.constraints import Choice, Int, ParameterError, Real, check_params
from mmx_core.base.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DEVICES, PRECISIONS
from mmx_core.base.errors import MMXError
from mmx_core.model.config import ModelConfig

__all__ = ["TrainConfig", "STAGES", "STAGE_RECIPES", "LIMITS", "DEFAULT_TAG_WEIGHT", "DEFAULT_TAG_PROTOTYPE_WEIGHT",
           "TAG_TEMPERATURE"]

STAGES = ("coarse", "fine")

STAGE_RECIPES: dict[str, dict[str, float | int]] = {
    "coarse": {"epochs": 10, "batch_size": 64, "lr": 1e-3, "patience": 3},
    "fine": {"epochs": 20, "batch_size": 64, "lr": 1e-3, "patience": 0},
}
"""The documented recipe of each stage (docs/model.md), which the shipped models were trained with and
every :class:`TrainConfig` takes for the settings its caller leaves unset (None). Coarse: early stopping on validation
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


LIMITS = {"epochs": Int(1), "batch_size": Int(1), "patience": Int(0), "log_every": Int(1),
          "lr": Real(0, low_open=True), "weight_decay": Real(0), "temperature": Real(0, low_open=True),
          "tag_weight": Real(0, low_open=True), "tag_prototype_weight": Real(0)}
"""The range of each numeric setting of :class:`TrainConfig` (``python -m mmx_core train`` parses its options with
them)."""


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
    epochs, batch_size : int, optional
        Maximum epochs; trailers per optimiser step (the global batch under DDP). None (like ``lr`` and
        ``patience``): the stage's :data:`STAGE_RECIPES`.
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
        AdamW settings (``lr`` None: the stage's recipe).
    patience : int, optional
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
    epochs: int | None = None
    batch_size: int | None = None
    device: str = DEFAULT_DEVICE
    precision: str = DEFAULT_PRECISION
    seed: int = 0
    model: ModelConfig | None = None
    resume: bool = False
    lr: float | None = None
    weight_decay: float = 1e-4
    patience: int | None = None
    temperature: float = 0.5
    log_every: int = 10
    tags: str | Path | None = None
    tag_weight: float = DEFAULT_TAG_WEIGHT
    tag_prototype_weight: float = DEFAULT_TAG_PROTOTYPE_WEIGHT

    def __post_init__(self) -> None:
        for name, value in STAGE_RECIPES.get(self.stage, {}).items():  # an unknown stage is refused by validate
            if getattr(self, name) is None:
                setattr(self, name, value)

    def validate(self) -> "TrainConfig":
        # a missing GPU, or a precision the device cannot run, is reported when the run resolves its device
        check_params(self, stage=Choice(STAGES), device=Choice(DEVICES), precision=Choice(PRECISIONS))
        for name, what in (("data", "a data set folder"), ("out", "a run folder")):
            if not str(getattr(self, name)):
                raise ParameterError(name, str(getattr(self, name)), what)
        check_params(self, **LIMITS)
        if self.stage == "fine" and self.batch_size < 2:
            raise ParameterError("batch_size", self.batch_size, "at least 2 in the fine stage (the other trailers "
                                 "of a batch are the negatives)")
        if self.tags is not None and self.stage != "fine":
            raise MMXError(f"tags={str(self.tags)!r} teach the fine stage only, not stage={self.stage!r}; "
                           "leave tags out or train stage 'fine'")
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
