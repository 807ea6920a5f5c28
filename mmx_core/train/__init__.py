"""Training of both stages, checkpoints, run events and inference (see docs/model.md)."""

from mmx_core.train.inference import embed_store, predict_scores
from mmx_core.train.checkpoint import Checkpoint, load_checkpoint
from mmx_core.train.config import TrainConfig
from mmx_core.train.loop import train
from mmx_core.train.losses import coarse_loss, nt_xent

__all__ = ["TrainConfig", "train", "load_checkpoint", "Checkpoint", "embed_store", "predict_scores", "nt_xent",
           "coarse_loss"]
