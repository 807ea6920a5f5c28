"""Collate :class:`TrailerClips` of several trailers into padded torch tensors."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .store import TrailerClips

__all__ = ["collate_clips"]


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
    clip_mask = np.zeros((n_b, n_s, n_c), dtype=bool)
    sequence_mask = np.zeros((n_b, n_s), dtype=bool)
    for b, item in enumerate(items):
        s = item.clip_mask.shape[0]
        clip_mask[b, :s] = item.clip_mask
        sequence_mask[b, :s] = True
    features, frame_mask = {}, {}
    for name in items[0].features:
        dim = items[0].features[name].shape[-1]
        n_f = max(item.features[name].shape[2] for item in items)
        feats = np.zeros((n_b, n_s, n_c, n_f, dim), dtype=np.float32)
        masks = np.zeros((n_b, n_s, n_c, n_f), dtype=bool)
        for b, item in enumerate(items):
            s, _, f, _ = item.features[name].shape
            feats[b, :s, :, :f] = item.features[name]
            masks[b, :s, :, :f] = item.frame_mask[name]
        features[name] = torch.from_numpy(feats)
        frame_mask[name] = torch.from_numpy(masks)
    return {
        "features": features,
        "frame_mask": frame_mask,
        "clip_mask": torch.from_numpy(clip_mask),
        "sequence_mask": torch.from_numpy(sequence_mask),
    }
