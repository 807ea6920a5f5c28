"""The paper's encoder as small nn.Modules (see docs/model.md)."""

from .clip import ClipEncoder
from .config import DEFAULT_EXPERT_DIMS, FUSIONS, ModelConfig
from .encoder import MMXEncoder
from .gating import CollaborativeGating, ExpertProjection
from .gem import GatedEmbeddingUnit
from .heads import MLPHead, MMXModel
from .netvlad import MaskedMeanPool, NetVLAD

__all__ = [
    "ModelConfig", "FUSIONS", "DEFAULT_EXPERT_DIMS", "MMXEncoder", "MMXModel", "ClipEncoder", "NetVLAD",
    "MaskedMeanPool", "ExpertProjection", "CollaborativeGating", "GatedEmbeddingUnit", "MLPHead",
]
