"""The paper's encoder as small nn.Modules (see docs/model.md)."""

from mmx_core.model.clip import ClipEncoder
from mmx_core.model.config import DEFAULT_EXPERT_DIMS, FUSIONS, ModelConfig
from mmx_core.model.encoder import MMXEncoder
from mmx_core.model.gating import CollaborativeGating, ExpertProjection
from mmx_core.model.gem import GatedEmbeddingUnit
from mmx_core.model.heads import MLPHead, MMXModel
from mmx_core.model.netvlad import MaskedMeanPool, NetVLAD

__all__ = [
    "ModelConfig", "FUSIONS", "DEFAULT_EXPERT_DIMS", "MMXEncoder", "MMXModel", "ClipEncoder", "NetVLAD",
    "MaskedMeanPool", "ExpertProjection", "CollaborativeGating", "GatedEmbeddingUnit", "MLPHead",
]
