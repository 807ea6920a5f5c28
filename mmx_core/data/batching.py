"""Padded torch batches: :func:`read_batch` straight from the store, :func:`collate_clips` from read clips.

Both lay the batch out with :class:`~mmx_core.data.gather.BatchLayout` and fill every expert's
features with one gather (:func:`~mmx_core.data.gather.gather_frames`); they return the same dict.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from mmx_core.base.errors import MMXError
from mmx_core.data.gather import BatchLayout, gather_frames
from mmx_core.data.store import TrailerClips, TrailerStore

__all__ = ["read_batch", "collate_clips", "BatchBuffers", "FEATURE_DTYPES"]

FEATURE_DTYPES = (torch.float16, torch.float32)


class BatchBuffers:
    """Memory that :func:`read_batch` reuses from one batch to the next.

    Each output (an expert's features, the gather scratch) keeps one block that grows when a
    batch needs more sequences or frames and is never shrunk. A batch read into buffers is
    overwritten by the next read into the same buffers: use it (or copy it) before reading
    again. Reusing memory avoids the page faults of fresh memory, which dominate the cost of
    a batch of tens of MB.
    """

    def __init__(self) -> None:
        self._blocks: dict[str, torch.Tensor] = {}
        self._parts: dict[str, BatchBuffers] = {}

    def take(self, key: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """A contiguous tensor of ``shape`` and ``dtype`` over block ``key`` (contents undefined)."""
        size = math.prod(shape)
        block = self._blocks.get(key)
        if block is None or block.dtype != dtype or block.numel() < size:
            block = self._blocks[key] = torch.empty(size, dtype=dtype)
        return block[:size].view(shape)

    def part(self, name: str) -> "BatchBuffers":
        """Separate buffers for a second batch that must live beside the first (e.g. halves B)."""
        return self._parts.setdefault(name, BatchBuffers())

    def __repr__(self) -> str:
        megabytes = sum(b.numel() * b.element_size() for b in self._blocks.values()) / 1e6
        return f"BatchBuffers(blocks={list(self._blocks)}, MB={megabytes:.1f}, parts={list(self._parts)})"


def read_batch(store: TrailerStore, trailers: Sequence[int], sequences=None, *, dtype: torch.dtype = torch.float32,
               buffers: BatchBuffers | None = None) -> dict:
    """Read sequences of B trailers into padded batch tensors, one copy from the memory map.

    Parameters
    ----------
    store : TrailerStore
    trailers : sequence of int, length B
        Trailer indices (rows of ``store.trailers``).
    sequences : sequence of (array-like of int or None), optional
        Per trailer, the sequences to read (0-based within the trailer, in the order wanted;
        None: all, in order). Default: every sequence of every trailer.
    dtype : {torch.float32, torch.float16}
        Dtype of the features. float16 (the store's usual dtype) halves the bytes; casting it to
        float32 gives exactly the float32 values.
    buffers : BatchBuffers, optional
        Reuse their memory for the features (the result is overwritten by the next read into
        them); default: fresh tensors.

    Returns
    -------
    dict
        As :func:`collate_clips` (the features of ``dtype``): identical to
        ``collate_clips([store.read(t, s) for t, s in zip(trailers, sequences)])`` after
        casting the features to float32.

    Raises
    ------
    MMXError
        When ``trailers`` is empty, a trailer or sequence index is out of range, or ``dtype``
        is not a feature dtype.
    """
    if dtype not in FEATURE_DTYPES:
        raise MMXError(f"dtype must be one of {list(FEATURE_DTYPES)}, got {dtype!r}")
    layout = BatchLayout.of_sequences(store, trailers, sequences)
    return _fill(layout, store.feature_tables, dtype, buffers)


def collate_clips(items: Sequence[TrailerClips]) -> dict:
    """Pad a batch of trailers' clips to common shapes (a DataLoader ``collate_fn``).

    Parameters
    ----------
    items : sequence of TrailerClips
        B trailers; S_b sequences each, the same experts and C.

    Returns
    -------
    dict
        ``"features"``: {name: float32 Tensor of shape (B, S, C, F, D)};
        ``"frame_mask"``: {name: bool Tensor of shape (B, S, C, F)};
        ``"clip_mask"``: bool Tensor of shape (B, S, C);
        ``"sequence_mask"``: bool Tensor of shape (B, S) -- True for real
        sequences. S is the largest S_b and F the largest frame count of the
        expert in the batch; padding is zero / False.
    """
    layout, frames = BatchLayout.of_clips(items)
    tables = {name: torch.from_numpy(np.ascontiguousarray(rows)) for name, rows in frames.items()}
    return _fill(layout, tables, torch.float32, None)


def _fill(layout: BatchLayout, tables: dict[str, torch.Tensor], dtype: torch.dtype,
          buffers: BatchBuffers | None) -> dict:
    """The batch dict of ``layout``: features gathered from ``tables`` into fresh or reused memory."""
    features = {}
    for name, table in tables.items():
        shape = layout.feature_shape(name, table.shape[1])
        if buffers is None:
            out, scratch = _empty(shape, dtype), None
        else:
            out = buffers.take(f"features:{name}", shape, dtype)
            scratch = None if table.dtype == dtype else buffers.take("scratch", (math.prod(shape),), table.dtype)
        gather_frames(out, table, layout.rows[name], layout.frame_mask[name], scratch)
        features[name] = out
    return {"features": features,
            "frame_mask": {name: torch.from_numpy(mask) for name, mask in layout.frame_mask.items()},
            "clip_mask": torch.from_numpy(layout.clip_mask), "sequence_mask": torch.from_numpy(layout.sequence_mask)}


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Fresh uninitialised memory for one output; :func:`gather_frames` writes every element."""
    return torch.empty(shape, dtype=dtype)
