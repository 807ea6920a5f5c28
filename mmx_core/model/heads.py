"""Heads on the trailer embedding, and MMXModel = injected encoder + both heads."""

from __future__ import annotations

import torch
from torch import nn

from mmx_core.model.config import ModelConfig
from mmx_core.model.encoder import MMXEncoder

__all__ = ["MLPHead", "MMXModel"]


class MLPHead(nn.Module):
    """Two-layer MLP: Linear -> ReLU -> Dropout -> Linear.

    Used as the coarse head k (bottleneck -> genre logits) and as the projection
    head m of the contrastive stage (bottleneck -> projection, dropped after
    training).

    Shape:
        - x: :math:`(B, \\text{in\\_dim})`
        - output: :math:`(B, \\text{out\\_dim})`
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_dim, self.hidden, self.out_dim, self.dropout = in_dim, hidden, out_dim, dropout
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out_dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, hidden={self.hidden}, out_dim={self.out_dim}, dropout={self.dropout}"


class MMXModel(nn.Module):
    """The encoder with the coarse head k and the projection head m.

    One module so that a checkpoint holds one state dict for both stages: the
    coarse stage trains encoder + k, the fine stage starts from it and trains
    encoder + m; embeddings are the encoder's bottleneck output.

    Parameters
    ----------
    config : ModelConfig
    encoder : nn.Module, optional
        Injected encoder returning ``{"trailer": (B, bottleneck_dim), ...}``;
        defaults to :class:`MMXEncoder`.

    Shape:
        - batch: as :class:`MMXEncoder`
        - :meth:`logits`: :math:`(B, G)`; :meth:`project`: :math:`(B, \\text{projection\\_dim})`;
          :meth:`embed`: :math:`(B, \\text{bottleneck\\_dim})`
    """

    def __init__(self, config: ModelConfig, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config.validate()
        self.encoder = encoder if encoder is not None else MMXEncoder(config)
        self.coarse_head = MLPHead(config.bottleneck_dim, config.head_hidden, config.n_genres, config.dropout)
        self.projection_head = MLPHead(config.bottleneck_dim, config.head_hidden, config.projection_dim)

    def embed(self, batch: dict) -> torch.Tensor:
        return self.encoder(batch)["trailer"]

    def logits(self, batch: dict) -> torch.Tensor:
        return self.coarse_head(self.embed(batch))

    def project(self, batch: dict) -> torch.Tensor:
        return self.projection_head(self.embed(batch))

    def forward(self, batch: dict, head: str = "coarse") -> torch.Tensor:
        """``head`` = "coarse" (logits), "projection" (m output) or "embed" (bottleneck)."""
        if head == "coarse":
            return self.logits(batch)
        if head == "projection":
            return self.project(batch)
        assert head == "embed", head
        return self.embed(batch)
