"""ResNet-50 (v1.5: stride on the 3x3 conv), with torchvision's parameter names.

Loads torchvision's ``resnet50-0676ba61.pth`` (ImageNet) and, after dropping
the ``module.`` prefix, CSAIL's ``resnet50_places365.pth.tar`` (365 classes).
"""

from __future__ import annotations

import torch
from torch import nn


class PooledBackbone(nn.Module):
    """A backbone whose pooled features feed a classifier ``fc`` (:class:`ResNet50`, ``R2Plus1D18``).

    Subclasses define ``num_classes``, ``fc`` and ``forward_features``.
    """

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward_features(x))

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}"


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 (x4 channels) with a residual connection.

    Shape:
        - Input: (N, inplanes, H, W)
        - Output: (N, planes * 4, H / stride, W / stride)
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


class ResNet50(PooledBackbone):
    """ResNet-50 image backbone; :meth:`forward_features` gives the pooled 2048-d vector.

    Parameters
    ----------
    num_classes : int
        Outputs of ``fc`` (1000 for ImageNet, 365 for Places365); only there so
        the published file loads strictly, features never use it.

    Shape:
        - Input: (N, 3, H, W), normalised RGB (224 x 224 in the published recipes)
        - Output of :meth:`forward_features`: (N, 2048)
        - Output of :meth:`forward`: (N, num_classes)
    """

    feature_dim = 2048

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.num_classes = num_classes
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = 64
        for i, (planes, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
            layer = [Bottleneck(inplanes, planes, stride)] + [Bottleneck(planes * 4, planes) for _ in range(blocks - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*layer))
            inplanes = planes * 4
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        self.reset_parameters()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)
