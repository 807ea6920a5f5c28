"""Gated Embedding Unit (Miech et al., "Learning a text-video embedding...")."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GatedEmbeddingUnit"]


class GatedEmbeddingUnit(nn.Module):
    """``z = W1 x + b1``; ``y = z * sigmoid(W2 z + b2)``; output ``y / ||y||``.

    Parameters
    ----------
    in_dim, out_dim : int
        Input and output sizes.
    scale : float
        Norm of the output (1 = the unit vector of the original GEM).

    Shape:
        - x: :math:`(*, \\text{in\\_dim})`
        - output: :math:`(*, \\text{out\\_dim})`, L2 norm ``scale`` along the last axis
    """

    def __init__(self, in_dim: int, out_dim: int, scale: float = 1.0) -> None:
        super().__init__()
        self.in_dim, self.out_dim, self.scale = in_dim, out_dim, float(scale)
        self.fc = nn.Linear(in_dim, out_dim)
        self.gate = nn.Linear(out_dim, out_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.fc.reset_parameters()
        self.gate.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.fc(x)
        y = F.normalize((z * torch.sigmoid(self.gate(z))).float(), dim=-1)  # float32 under autocast too
        return y if self.scale == 1.0 else y * self.scale

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}" + (f", scale={self.scale:g}" if self.scale != 1.0 else "")
