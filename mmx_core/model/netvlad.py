"""Temporal aggregation of an expert's frames: masked average pooling and NetVLAD."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NetVLAD", "MaskedMeanPool"]


class MaskedMeanPool(nn.Module):
    """Average of the valid frames of each clip (zeros when a clip has none).

    With a single frame slot (``F == 1``, the pooled video experts) the frame is
    returned as it is, without a mask pass: a clip whose frame is missing then
    carries whatever the input holds there (zeros from ``collate_clips``), and the
    caller excludes it through its availability mask (see :class:`ClipEncoder`).

    Shape:
        - x: :math:`(N, F, D)` frames, mask: :math:`(N, F)` bool (True = valid frame)
        - output: :math:`(N, D)`
    """

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            return x[:, 0]
        weights = mask.to(x.dtype).unsqueeze(-1)
        return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class NetVLAD(nn.Module):
    """NetVLAD over the frames of a clip (Arandjelovic et al.), mask aware.

    Each valid frame is softly assigned to ``n_clusters`` learned centres plus
    ``n_ghost`` ghost clusters (which absorb uninformative frames and are dropped
    from the output); the residuals to each centre are summed, intra-normalised
    (L2 per centre) and the flattened result is L2-normalised. A clip without valid
    frames gives a zero vector.

    Parameters
    ----------
    dim : int
        Frame feature size D.
    n_clusters : int
        Learned centres K.
    n_ghost : int
        Ghost clusters G (0 = plain NetVLAD).

    Shape:
        - x: :math:`(N, F, D)`, mask: :math:`(N, F)` bool
        - output: :math:`(N, K \\cdot D)`, unit L2 norm (or zero)
    """

    def __init__(self, dim: int, n_clusters: int, n_ghost: int = 0) -> None:
        super().__init__()
        self.dim, self.n_clusters, self.n_ghost = dim, n_clusters, n_ghost
        self.assignment = nn.Linear(dim, n_clusters + n_ghost)
        self.centres = nn.Parameter(torch.empty(n_clusters, dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.assignment.reset_parameters()
        nn.init.uniform_(self.centres, -1.0 / math.sqrt(self.dim), 1.0 / math.sqrt(self.dim))

    @property
    def output_dim(self) -> int:
        return self.n_clusters * self.dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # under autocast the assignment logits and the residual sums may come back in 16 bits: the
        # softmax and both normalisations run in float32 (no-ops on float32 inputs)
        soft = torch.softmax(self.assignment(x).float(), dim=-1)[..., : self.n_clusters]  # (N, F, K)
        soft = soft * mask.to(soft.dtype).unsqueeze(-1)
        residual = torch.einsum("nfk,nfd->nkd", soft, x) - soft.sum(1).unsqueeze(-1) * self.centres
        residual = F.normalize(residual.float(), dim=-1)
        return F.normalize(residual.flatten(1), dim=-1)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, n_clusters={self.n_clusters}, n_ghost={self.n_ghost}"
