"""Validation of each stage after an epoch: the metrics early stopping and the best checkpoint follow.

Coarse: the BCE loss and the paper's AU(PRC) (weighted, micro, macro) and weighted F1 on the validation
trailers. Fine: the NT-Xent loss between the two halves of each validation trailer (the same pairs every
epoch).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from mmx_core.base.devices import autocast_for
from mmx_core.trailers.metrics import genre_metrics
from mmx_core.data import BatchBuffers, TrailerStore
from mmx_core.train.inference import forward_rows, to_device
from mmx_core.train.losses import coarse_loss, nt_xent
from mmx_core.train.sampling import TrailerSequences

__all__ = ["coarse_validation", "fine_validation"]


@torch.no_grad()
def coarse_validation(model: torch.nn.Module, store: TrailerStore, rows: np.ndarray, batch_size: int,
                      device: torch.device, buffers: BatchBuffers | None = None,
                      dtype: torch.dtype | None = None) -> dict:
    """``{"val_loss", "auprc_weighted", "auprc_micro", "auprc_macro", "f1_weighted"}`` of the genre head on
    trailers ``rows`` (all their sequences), the forward passes under autocast to ``dtype`` (None: float32)."""
    logits = forward_rows(model, store, rows, "coarse", batch_size, device, dtype, buffers)
    labels = store.labels()[rows]
    report = genre_metrics(torch.sigmoid(logits).numpy(), labels, store.manifest.genres)
    return {"val_loss": float(coarse_loss(logits, torch.from_numpy(labels))), "auprc_weighted": report.auprc_weighted,
            "auprc_micro": report.auprc_micro, "auprc_macro": report.auprc_macro, "f1_weighted": report.f1_weighted}


@torch.no_grad()
def fine_validation(model: torch.nn.Module, val_set: TrailerSequences, collate: Callable, batch_size: int,
                    temperature: float, device: torch.device, dtype: torch.dtype | None = None) -> dict:
    """``{"val_loss"}``: NT-Xent between the halves of the validation pairs, weighted by batch size (the
    forward passes under autocast to ``dtype``, None: float32)."""
    model.eval()
    losses, weights = [], []
    size = max(2, min(batch_size, len(val_set)))
    for start in range(0, len(val_set) - 1, size):
        positions = range(start, min(start + size, len(val_set)))
        if len(positions) < 2:
            continue
        batch = to_device(collate(val_set, positions), device)
        with autocast_for(device, dtype):
            z_a, z_b = model(batch["batch"], head="projection").chunk(2)
        losses.append(float(nt_xent(z_a, z_b, temperature)))
        weights.append(len(positions))
    return {"val_loss": float(np.average(losses, weights=weights))}
