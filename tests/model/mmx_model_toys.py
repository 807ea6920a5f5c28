"""Toy batches shaped like collate_clips output, for the model unit tests."""

from __future__ import annotations

import torch

from mmx_core.model import ModelConfig

DIMS = {"image": 12, "scene": 10, "motion": 6, "audio": 4}


def toy_config(**overrides) -> ModelConfig:
    values = dict(expert_dims=DIMS, shared_dim=8, n_genres=5, clips_per_sequence=3, sequence_dim=16,
                  bottleneck_dim=12, vlad_clusters=3, vlad_ghost_clusters=1, gating_hidden=8, head_hidden=16,
                  projection_dim=6, dropout=0.0, train_sequences=2)
    values.update(overrides)
    return ModelConfig(**values)


def toy_batch(batch: int = 3, sequences: int = 4, clips: int = 3, frames: int = 5, seed: int = 0) -> dict:
    """A random batch with one padded sequence, one padded clip and one missing expert."""
    gen = torch.Generator().manual_seed(seed)
    features, frame_mask = {}, {}
    for name, dim in DIMS.items():
        f = frames if name == "audio" else 1
        features[name] = torch.randn(batch, sequences, clips, f, dim, generator=gen)
        frame_mask[name] = torch.ones(batch, sequences, clips, f, dtype=torch.bool)
    frame_mask["audio"][..., -2:] = False  # audio clips have 3 of 5 frames
    frame_mask["motion"][0, 0, 1] = False  # motion missing for one clip
    features["motion"][0, 0, 1] = 0.0
    clip_mask = torch.ones(batch, sequences, clips, dtype=torch.bool)
    clip_mask[1, 0, -1] = False  # a short sequence
    sequence_mask = torch.ones(batch, sequences, dtype=torch.bool)
    sequence_mask[2, -1] = False  # trailer 2 has one sequence fewer
    for name in DIMS:
        features[name][~clip_mask] = 0.0
        frame_mask[name][~clip_mask] = False
        features[name][~sequence_mask] = 0.0
        frame_mask[name][~sequence_mask] = False
    clip_mask[~sequence_mask] = False
    return {"features": features, "frame_mask": frame_mask, "clip_mask": clip_mask, "sequence_mask": sequence_mask}
