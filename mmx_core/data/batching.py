"""Collate :class:`TrailerClips` of several trailers into padded torch tensors."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from .store import TrailerClips

_NUMPY_DTYPES = {torch.float32: np.float32, torch.bool: np.bool_}

__all__ = ["collate_clips"]


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor; inside a DataLoader worker it lives in shared memory, so sending it costs no copy.

    Every element is then written exactly once by :func:`_put` (first-touch page faults of fresh
    memory dominate the cost of a batch, so nothing is zeroed first).
    """
    if torch.utils.data.get_worker_info() is None:
        return torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[dtype]))
    itemsize = torch.empty((), dtype=dtype).element_size()
    storage = torch.UntypedStorage._new_shared(max(1, math.prod(shape) * itemsize))
    return torch.empty((0,), dtype=dtype).set_(storage, 0, shape)


def _put(dst: np.ndarray, src: np.ndarray) -> None:
    """Write ``src`` into the leading corner of ``dst`` and zero the rest of ``dst``."""
    dst[tuple(slice(0, n) for n in src.shape)] = src
    for d, n in enumerate(src.shape):
        if n < dst.shape[d]:
            dst[tuple(slice(0, m) for m in src.shape[:d]) + (slice(n, None),)] = 0


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
    if not items:
        raise ValueError("collate_clips needs at least one TrailerClips")
    n_b = len(items)
    n_s = max(item.clip_mask.shape[0] for item in items)
    n_c = items[0].clip_mask.shape[1]
    clip_mask = _empty((n_b, n_s, n_c), torch.bool)
    sequence_mask = _empty((n_b, n_s), torch.bool)
    clip_view, seq_view = clip_mask.numpy(), sequence_mask.numpy()
    for b, item in enumerate(items):
        _put(clip_view[b], item.clip_mask)
        _put(seq_view[b], np.ones(item.clip_mask.shape[0], dtype=bool))
    features, frame_mask = {}, {}
    for name in items[0].features:
        dim = items[0].features[name].shape[-1]
        n_f = max(item.features[name].shape[2] for item in items)
        feats = _empty((n_b, n_s, n_c, n_f, dim), torch.float32)
        masks = _empty((n_b, n_s, n_c, n_f), torch.bool)
        feat_view, mask_view = feats.numpy(), masks.numpy()
        for b, item in enumerate(items):
            _put(feat_view[b], item.features[name])
            _put(mask_view[b], item.frame_mask[name])
        features[name] = feats
        frame_mask[name] = masks
    return {"features": features, "frame_mask": frame_mask, "clip_mask": clip_mask, "sequence_mask": sequence_mask}
