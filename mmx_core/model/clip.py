"""ClipEncoder: the experts of one clip -> one fused clip vector."""

from __future__ import annotations

import math

import torch
from torch import nn

from mmx_core.model.config import ModelConfig
from mmx_core.model.gating import CollaborativeGating, ExpertProjection
from mmx_core.model.gem import GatedEmbeddingUnit
from mmx_core.model.netvlad import MaskedMeanPool, NetVLAD

__all__ = ["ClipEncoder"]


class ClipEncoder(nn.Module):
    """Temporal aggregation, projection and fusion of the experts of each clip.

    Each expert's frames are aggregated (NetVLAD for ``config.vlad_experts``,
    masked average pooling otherwise), projected linearly to ``shared_dim`` and
    fused according to ``config.fusion``:

    - ``"collaborative"``: collaborative gating, then one GEM per expert;
    - ``"gem"``: one GEM per expert, no gating;
    - ``"concat"``: the projected experts as they are.

    The fused experts are concatenated in ``config.experts`` order; a missing
    expert (no valid frame) contributes zeros and is excluded from the others'
    gating.

    Shape:
        - features: dict name -> :math:`(N, F_e, D_e)`, frame_mask: dict name -> :math:`(N, F_e)` bool
        - output: :math:`(N, E \\cdot \\text{shared\\_dim})`
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.experts, self.fusion = tuple(config.experts), config.fusion
        self.aggregators = nn.ModuleDict({
            name: NetVLAD(config.expert_dims[name], config.vlad_clusters, config.vlad_ghost_clusters)
            if name in config.vlad_experts else MaskedMeanPool()
            for name in self.experts
        })
        self.projection = ExpertProjection({n: config.expert_input_dim(n) for n in self.experts}, config.shared_dim)
        self.gating = (CollaborativeGating(len(self.experts), config.shared_dim, config.gating_hidden)
                       if config.fusion == "collaborative" else None)
        scale = math.sqrt(config.shared_dim) if config.gem_scale == "sqrt_dim" else 1.0
        self.gems = (nn.ModuleList(GatedEmbeddingUnit(config.shared_dim, config.shared_dim, scale)
                                   for _ in self.experts)
                     if config.fusion in ("collaborative", "gem") else None)
        self.output_dim = len(self.experts) * config.shared_dim

    def forward(self, features: dict[str, torch.Tensor], frame_mask: dict[str, torch.Tensor]) -> torch.Tensor:
        available = torch.stack([frame_mask[name].any(-1) for name in self.experts], dim=1)  # (N, E)
        aggregated = {name: self.aggregators[name](features[name], frame_mask[name]) for name in self.experts}
        x = self.projection(aggregated)  # (N, E, d)
        if self.gating is not None:
            x = self.gating(x, available)
        if self.gems is not None:
            x = torch.stack([gem(x[:, e]) for e, gem in enumerate(self.gems)], dim=1)
        x = x * available.unsqueeze(-1).to(x.dtype)
        return x.flatten(1)

    def extra_repr(self) -> str:
        return f"experts={self.experts}, fusion={self.fusion!r}"
