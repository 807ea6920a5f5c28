"""Image expert: ResNet-50 trained on ImageNet (torchvision's published file), 2048-d per clip."""

from __future__ import annotations

from mmx_core.extract.experts.resnet_expert import ResNetFramesExpert
from mmx_core.extract.weights import WeightsFile


class ImageExpert(ResNetFramesExpert):
    """Object/appearance features: ImageNet ResNet-50, pooled over the clip's frames."""

    name = "image"
    weights = WeightsFile(
        file_name="resnet50-0676ba61.pth",
        url="https://download.pytorch.org/models/resnet50-0676ba61.pth",
        what="torchvision ResNet-50, ImageNet-1k (IMAGENET1K_V1)",
        how_to_get="torchvision's published ResNet-50 ImageNet weights",
    )
