"""Collate :class:`TrailerClips` of several trailers into padded torch tensors."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from .store import TrailerClips

_NUMPY_DTYPES = {torch.float32: np.float32, torch.bool: np.bool_}

__all__ = ["collate_clips"]


def _zeros(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """A zero tensor; inside a DataLoader worker it lives in shared memory, so sending it costs no copy."""
    if torch.utils.data.get_worker_info() is None:
        # numpy's calloc-backed zeros are faster than torch.zeros' memset for large, partly filled arrays
        return torch.from_numpy(np.zeros(shape, dtype=_NUMPY_DTYPES[dtype]))
    itemsize = torch.empty((), dtype=dtype).element_size()
    storage = torch.UntypedStorage._new_shared(max(1, math.prod(shape) * itemsize))
    return torch.empty((0,), dtype=dtype).set_(storage, 0, shape).zero_()


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
    clip_mask = _zeros((n_b, n_s, n_c), torch.bool)
    sequence_mask = _zeros((n_b, n_s), torch.bool)
    clip_view, seq_view = clip_mask.numpy(), sequence_mask.numpy()
    for b, item in enumerate(items):
        s = item.clip_mask.shape[0]
        clip_view[b, :s] = item.clip_mask
        seq_view[b, :s] = True
    features, frame_mask = {}, {}
    for name in items[0].features:
        dim = items[0].features[name].shape[-1]
        n_f = max(item.features[name].shape[2] for item in items)
        feats = _zeros((n_b, n_s, n_c, n_f, dim), torch.float32)
        masks = _zeros((n_b, n_s, n_c, n_f), torch.bool)
        feat_view, mask_view = feats.numpy(), masks.numpy()
        for b, item in enumerate(items):
            s, _, f, _ = item.features[name].shape
            feat_view[b, :s, :, :f] = item.features[name]
            mask_view[b, :s, :, :f] = item.frame_mask[name]
        features[name] = feats
        frame_mask[name] = masks
    return {"features": features, "frame_mask": frame_mask, "clip_mask": clip_mask, "sequence_mask": sequence_mask}
