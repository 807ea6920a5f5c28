"""MMXEncoder: clips -> sequence embeddings -> bottleneck trailer embedding."""

from __future__ import annotations

import torch
from torch import nn

from mmx_core.model.clip import ClipEncoder
from mmx_core.model.config import ModelConfig

__all__ = ["MMXEncoder"]


class MMXEncoder(nn.Module):
    """The paper's encoder over a batch laid out by ``collate_clips``.

    The clips of a sequence (``clips_per_sequence`` of them, padded clips as
    zeros) are concatenated and mapped by an MLP to a sequence embedding. The
    valid sequences of a trailer are summed and divided by their count (the
    order-free form of "concatenate, then a linear bottleneck": a linear layer
    over concatenated sequences with one weight shared by every slot equals a
    linear layer over their sum; the mean keeps one scale for the training
    sample of ``train_sequences`` and for all sequences at inference), and a
    linear bottleneck gives the trailer embedding. See docs/model.md.

    Parameters
    ----------
    config : ModelConfig
    clip_encoder : nn.Module, optional
        Replaces :class:`ClipEncoder` (must expose ``output_dim``).

    Shape:
        - batch["features"][name]: :math:`(B, S, C, F, D)`; batch["frame_mask"][name]:
          :math:`(B, S, C, F)`; batch["clip_mask"]: :math:`(B, S, C)`;
          batch["sequence_mask"]: :math:`(B, S)`
        - output: dict with "sequences" :math:`(B, S, \\text{sequence\\_dim})` (padded
          sequences zero) and "trailer" :math:`(B, \\text{bottleneck\\_dim})`
    """

    def __init__(self, config: ModelConfig, clip_encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.clip_encoder = clip_encoder if clip_encoder is not None else ClipEncoder(config)
        clip_dim = self.clip_encoder.output_dim
        self.sequence_mlp = nn.Sequential(
            nn.Linear(config.clips_per_sequence * clip_dim, config.sequence_dim), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(config.sequence_dim, config.sequence_dim))
        # "mlp+mean": a residual linear path from the mean of the valid clips (None = the paper's MLP only)
        self.clip_mean = (nn.Linear(clip_dim, config.sequence_dim)
                          if config.sequence_encoder == "mlp+mean" else None)
        self.bottleneck = nn.Linear(config.sequence_dim, config.bottleneck_dim)

    def encode_clips(self, batch: dict) -> torch.Tensor:
        """Fused clip vectors of shape (B, S, C, clip_dim); padded clips are zero."""
        clip_mask = batch["clip_mask"] & batch["sequence_mask"].unsqueeze(-1)
        shape = clip_mask.shape
        flat_mask = clip_mask.reshape(-1)
        rows = None if bool(flat_mask.all()) else flat_mask.nonzero().squeeze(1)
        features, frame_mask = {}, {}
        for name in self.config.experts:
            feats = batch["features"][name].flatten(0, 2)
            masks = batch["frame_mask"][name].flatten(0, 2)
            features[name] = feats if rows is None else feats.index_select(0, rows)
            frame_mask[name] = masks if rows is None else masks.index_select(0, rows)
        clips = self.clip_encoder(features, frame_mask)
        if rows is not None:
            clips = clips.new_zeros(flat_mask.numel(), clips.shape[1]).index_copy(0, rows, clips)
        return clips.reshape(*shape, -1)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        clips = self.encode_clips(batch)
        sequence_mask = batch["sequence_mask"]
        sequences = self.sequence_mlp(clips.flatten(2))  # (B, S, sequence_dim)
        if self.clip_mean is not None:  # padded clips are zero: sum / number of valid clips
            counts = batch["clip_mask"].to(clips.dtype).sum(2, keepdim=True).clamp_min(1.0)
            sequences = sequences + self.clip_mean(clips.sum(2) / counts)
        weights = sequence_mask.to(sequences.dtype).unsqueeze(-1)
        sequences = sequences * weights
        pooled = sequences.sum(1) / weights.sum(1).clamp_min(1.0)
        return {"sequences": sequences, "trailer": self.bottleneck(pooled)}

    def extra_repr(self) -> str:
        c = self.config
        return (f"experts={c.experts}, fusion={c.fusion!r}, sequence_encoder={c.sequence_encoder!r}, "
                f"shared_dim={c.shared_dim}, sequence_dim={c.sequence_dim}, bottleneck_dim={c.bottleneck_dim}")
