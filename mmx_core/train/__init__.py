"""Training of both stages, checkpoints, run events and inference (see docs/model.md)."""

from .api import embed_store, predict_scores
from .checkpoint import Checkpoint, load_checkpoint
from .config import TrainConfig
from .loop import train
from .losses import coarse_loss, nt_xent

__all__ = ["TrainConfig", "train", "load_checkpoint", "Checkpoint", "embed_store", "predict_scores", "nt_xent",
           "coarse_loss"]
