"""Losses of the two stages: BCE with logits (coarse) and NT-Xent (fine)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["nt_xent", "coarse_loss"]


def coarse_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy with logits over trailers and genres.

    Shape: logits and labels :math:`(B, G)` -> scalar.
    """
    return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


def nt_xent(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Normalised temperature-scaled cross-entropy (SimCLR, Chen et al. 2020).

    Row i of ``z_a`` and row i of ``z_b`` are a positive pair (two halves of one
    trailer); the other 2B - 2 rows of the batch are its negatives. The loss is
    the mean over all 2B anchors of ``-log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))``
    with ``s`` the cosine similarity.

    Shape: z_a and z_b :math:`(B, d)`, B >= 1 -> scalar.
    """
    z = F.normalize(torch.cat([z_a, z_b]).float(), dim=1)
    n = z_a.shape[0]
    similarity = z @ z.t() / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, positives)
