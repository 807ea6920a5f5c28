"""R(2+1)D-18 video backbone with torchvision's VideoResNet parameter names.

Loads torchvision's ``r2plus1d_18-91a641e6.pth`` (Kinetics-400) strictly:
``stem.{0,1,3,4}``, ``layerK.B.conv1.0.{0,1,3}`` (the (2+1)D conv: spatial
conv, its batch norm, temporal conv), ``layerK.B.conv1.1`` (batch norm),
``layerK.B.conv2.*``, ``layerK.0.downsample.{0,1}``, ``fc``.
"""

from __future__ import annotations

import torch
from torch import nn

from mmx_core.extract.backbones.resnet import PooledBackbone


def _conv2plus1d(inplanes: int, planes: int, mid: int, stride: int = 1) -> nn.Sequential:
    """Spatial (1x3x3) conv -> BN -> ReLU -> temporal (3x1x1) conv."""
    return nn.Sequential(
        nn.Conv3d(inplanes, mid, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, planes, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False),
    )


class BasicBlock2Plus1D(nn.Module):
    """Two (2+1)D convolutions with a residual connection.

    The middle width keeps the parameter count of a full 3x3x3 conv:
    ``mid = inplanes*planes*27 // (inplanes*9 + 3*planes)``.

    Shape:
        - Input: (N, inplanes, T, H, W)
        - Output: (N, planes, T / stride, H / stride, W / stride)
    """

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        mid = (inplanes * planes * 27) // (inplanes * 9 + 3 * planes)
        self.conv1 = nn.Sequential(_conv2plus1d(inplanes, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(_conv2plus1d(planes, planes, mid), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv3d(inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm3d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class R2Plus1D18(PooledBackbone):
    """R(2+1)D-18; :meth:`forward_features` gives the pooled 512-d clip vector.

    Parameters
    ----------
    num_classes : int
        Outputs of ``fc`` (400 for Kinetics-400); unused by the features.

    Shape:
        - Input: (N, 3, T, H, W), normalised RGB (16 x 112 x 112 in torchvision's recipe)
        - Output of :meth:`forward_features`: (N, 512)
        - Output of :meth:`forward`: (N, num_classes)
    """

    feature_dim = 512

    def __init__(self, num_classes: int = 400):
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(
            nn.Conv3d(3, 45, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, (3, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )
        inplanes = 64
        for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
            setattr(self, f"layer{i}", nn.Sequential(BasicBlock2Plus1D(inplanes, planes, stride), BasicBlock2Plus1D(planes, planes)))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(512, num_classes)
        self.reset_parameters()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return torch.flatten(self.avgpool(x), 1)
