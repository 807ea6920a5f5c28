"""Batched expert inference over clips from many videos.

Clips from every video in flight are queued per expert and run in batches of
exactly ``batch_size`` items (video experts: clips; audio experts: 0.96 s
examples), the last batch padded with zeros. A fixed batch shape makes a
clip's features independent of which other clips share its batch (CPU
convolution kernels change with the batch size, and so would the last bits
of the features), so resumed and sharded runs give byte-identical data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from mmx_core.base.devices import autocast_for

__all__ = ["ExpertRunner", "Item"]

log = logging.getLogger(__name__)


@dataclass
class Item:
    """One clip's prepared input for one expert, and where its features go."""

    video: int
    clip: int
    tensor: torch.Tensor  # video: one stacked item; audio: (n_examples, ...)
    rows: int = 1


@dataclass
class ExpertRunner:
    """Queue of prepared inputs of one expert and its module.

    Parameters
    ----------
    expert : Expert
    module : nn.Module
    device : torch.device
    batch_size : int
    deliver : callable(video, clip, name, ndarray of shape (rows, dim) or None)
        Receives each item's features (None when the expert failed on it), float32.
    dtype : torch.dtype, optional
        Autocast dtype of the forward passes (:func:`~mmx_core.base.devices.autocast_for`); None: float32.
    """

    expert: Any
    module: torch.nn.Module
    device: torch.device
    batch_size: int
    deliver: Callable[[int, int, str, np.ndarray | None], None]
    dtype: torch.dtype | None = None
    pending: list[Item] = field(default_factory=list)
    pending_rows: int = 0
    items_done: int = 0
    seconds: float = 0.0

    @property
    def is_audio(self) -> bool:
        return self.expert.modality == "audio"

    def add(self, video: int, clip: int, data) -> None:
        """Prepare one clip's input (None or a failing prepare -> missing) and queue it."""
        name = self.expert.name
        if data is None:
            self.deliver(video, clip, name, None)
            return
        try:
            tensor = self.expert.prepare(data)
        except Exception as exc:  # noqa: BLE001 - an expert failing on one clip makes it missing there
            log.warning("expert %s failed to prepare clip %d of video %d: %s", name, clip, video, exc)
            self.deliver(video, clip, name, None)
            return
        rows = int(tensor.shape[0]) if self.is_audio else 1
        if rows == 0:
            self.deliver(video, clip, name, None)
            return
        self.pending.append(Item(video, clip, tensor, rows))
        self.pending_rows += rows
        if self.pending_rows >= self.batch_size:
            self.flush(full_only=True)

    def flush(self, full_only: bool = False) -> None:
        """Run queued items: all of them, or (``full_only``) as many whole batches as are queued."""
        if not self.pending:
            return
        if full_only:
            limit = (self.pending_rows // self.batch_size) * self.batch_size
            take, rows = [], 0
            for item in self.pending:
                if rows + item.rows > limit:
                    break
                take.append(item)
                rows += item.rows
            take = take or self.pending[:1]
        else:
            take = list(self.pending)
        self.pending = self.pending[len(take):]
        self.pending_rows = sum(i.rows for i in self.pending)
        started = time.perf_counter()
        inputs = (torch.cat if self.is_audio else torch.stack)([i.tensor for i in take])
        n = inputs.shape[0]
        padded = -(-n // self.batch_size) * self.batch_size
        if padded > n:
            inputs = torch.cat([inputs, inputs.new_zeros((padded - n, *inputs.shape[1:]))])
        try:
            outs = []
            with torch.inference_mode(), autocast_for(self.device, self.dtype):
                for start in range(0, padded, self.batch_size):
                    chunk = inputs[start:start + self.batch_size].to(self.device, non_blocking=True)
                    outs.append(self.expert.forward_batch(self.module, chunk).float().cpu())
            features = torch.cat(outs)[:n].numpy()
        except Exception as exc:  # noqa: BLE001 - a failing batch makes the expert missing for its clips
            log.warning("expert %s failed on a batch of %d clips: %s", self.expert.name, len(take), exc)
            for item in take:
                self.deliver(item.video, item.clip, self.expert.name, None)
            return
        self.seconds += time.perf_counter() - started
        row = 0
        for item in take:
            self.deliver(item.video, item.clip, self.expert.name, features[row:row + item.rows])
            row += item.rows
        self.items_done += len(take)
