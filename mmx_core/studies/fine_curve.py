"""The fine-stage curve: sub-genre precision@10 of the coarse bottleneck, then of the fine one after every epoch.

The third-round study behind the style-strength and fine-stage-length tables of docs/data-format.md
and docs/model.md (``python -m mmx_core fine-curve``). The coarse run is trained once under
``WORK/coarse`` (reused when finished); the fine stage is trained one epoch at a time with ``resume``
(constant learning rate, so this equals one unbroken run) and its last checkpoint scored after each
epoch, over all trailers of the planted set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["FineCurveSpec", "fine_stage_curve"]

CURVE_K = 10
"""Neighbours of the precision@k the curve reports."""
BATCH_SIZE = 64
"""Batch size of the coarse run and of every embedding pass."""
COARSE_PATIENCE = 3


@dataclass(frozen=True)
class FineCurveSpec:
    """One curve: the planted set, the work folder and the training choices of the two stages."""

    data: Path
    work: Path
    sequence_encoder: str = "mlp+mean"
    coarse_epochs: int = 10
    fine_epochs: int = 10
    fine_lr: float = 5e-4
    temperature: float = 0.5
    fine_batch_size: int = 64

    @property
    def fine_run(self) -> Path:
        return self.work / f"fine-lr{self.fine_lr}-t{self.temperature}-b{self.fine_batch_size}"


def fine_stage_curve(spec: FineCurveSpec, on_epoch: Callable[[int, float], None] = lambda epoch, value: None) -> dict:
    """Train (or reuse) the coarse run, then the fine stage epoch by epoch; the JSON-ready result.

    ``on_epoch(epoch, precision)`` is called after each fine epoch is scored.
    """
    from mmx_core.data import TrailerStore  # here, not above: the CLI reads FineCurveSpec's defaults without torch
    from mmx_core.model import ModelConfig
    from mmx_core.studies.subgenre_metrics import planted_subgenres, precision_at_k
    from mmx_core.train import TrainConfig, embed_store, train

    store = TrailerStore.open(spec.data)
    subgenre = planted_subgenres(store, spec.data)
    started = time.perf_counter()
    coarse = spec.work / "coarse"
    if not (coarse / "checkpoints" / "best.pt").exists():
        model = ModelConfig.for_store(store.manifest, sequence_encoder=spec.sequence_encoder)
        train(TrainConfig(stage="coarse", data=str(spec.data), out=coarse, epochs=spec.coarse_epochs,
                          batch_size=BATCH_SIZE, device="cpu", model=model, patience=COARSE_PATIENCE))
    _, coarse_embedding = embed_store(store, coarse, device="cpu", batch_size=BATCH_SIZE)
    curve = []
    for epoch in range(1, spec.fine_epochs + 1):
        train(TrainConfig(stage="fine", data=str(spec.data), out=spec.fine_run, init=coarse, epochs=epoch,
                          batch_size=spec.fine_batch_size, device="cpu", lr=spec.fine_lr,
                          temperature=spec.temperature, patience=10_000, resume=epoch > 1))
        _, fine_embedding = embed_store(store, spec.fine_run / "checkpoints" / "last.pt", device="cpu",
                                        batch_size=BATCH_SIZE)
        curve.append(round(precision_at_k(fine_embedding, subgenre, CURVE_K), 4))
        on_epoch(epoch, curve[-1])
    return {"data": str(spec.data), "sequence_encoder": spec.sequence_encoder, "lr": spec.fine_lr,
            "temperature": spec.temperature, "batch_size": spec.fine_batch_size,
            "coarse": round(precision_at_k(coarse_embedding, subgenre, CURVE_K), 4), "fine_curve": curve,
            "minutes": round((time.perf_counter() - started) / 60, 2)}
