"""What the image and scene experts share: a ResNet-50 over a clip's frames, average-pooled."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmx_core.extract.backbones.resnet import ResNet50
from mmx_core.extract.experts.base import VideoExpert, VideoSampling


class ResNetFramesExpert(VideoExpert):
    """A 2-D ResNet-50 run on each sampled frame; the clip's feature is the frames' mean.

    ``prepare``: uint8 (T, 224, 224, 3) -> float (T, 3, 224, 224).
    ``forward_batch``: (n, T, 3, 224, 224) -> (n, 2048).
    """

    backbone = "resnet50"
    dim = 2048
    temporal = "pooled"
    # ImageNet-style input: short side 256, centre crop 224; four frames spread over the clip.
    sampling = VideoSampling(frames_per_clip=4, fps=None, resize=256, size=224,
                             mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    num_classes = 1000

    def create_module(self) -> nn.Module:
        return ResNet50(num_classes=self.num_classes)

    def to_device(self, module: nn.Module, device: torch.device) -> nn.Module:
        return module.to(device).to(memory_format=torch.channels_last)  # faster on CPU (measured: see docs/extract.md)

    def prepare(self, clip: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self._normalised_frames(clip)

    def forward_batch(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        n, t = batch.shape[:2]
        x = batch.reshape(n * t, *batch.shape[2:]).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return module.forward_features(x).float().reshape(n, t, -1).mean(dim=1)
