"""Motion expert: R(2+1)D-18 trained on Kinetics-400 (torchvision's published file), 512-d per clip."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmx_core.extract.backbones.r2plus1d import R2Plus1D18
from mmx_core.extract.experts.base import VideoExpert, VideoSampling
from mmx_core.extract.weights import WeightsFile


class MotionExpert(VideoExpert):
    """Action/motion features from 16 frames at 15 frames/s, 112 x 112 (torchvision's Kinetics recipe).

    ``prepare``: uint8 (16, 112, 112, 3) -> float (3, 16, 112, 112).
    ``forward_batch``: (n, 3, 16, 112, 112) -> (n, 512).
    """

    name = "motion"
    backbone = "r2plus1d_18"
    dim = 512
    temporal = "pooled"
    sampling = VideoSampling(
        frames_per_clip=16, fps=15.0, resize=128, size=112,
        mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989),
    )
    weights = WeightsFile(
        file_name="r2plus1d_18-91a641e6.pth",
        url="https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth",
        what="torchvision R(2+1)D-18, Kinetics-400 (KINETICS400_V1)",
        how_to_get="torchvision's published R(2+1)D-18 Kinetics-400 weights",
    )

    def create_module(self) -> nn.Module:
        return R2Plus1D18(num_classes=400)

    def prepare(self, clip: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self._normalised_frames(clip).transpose(0, 1).contiguous()  # (3, T, S, S)

    def forward_batch(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled(batch.device.type):
            # Reduced precision: the channels-last 3-D kernels are the fast ones (docs/benchmarks.md "precision");
            # float32 keeps today's layout, and so today's features to the bit.
            batch = batch.contiguous(memory_format=torch.channels_last_3d)
        with torch.inference_mode():
            return module.forward_features(batch).float()
