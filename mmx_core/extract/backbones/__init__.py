"""Backbone networks of the extraction experts, defined here (no torchvision/torchaudio).

Parameter names match the published state-dict files so they load with
``strict=True``: :class:`ResNet50` (torchvision ImageNet / CSAIL Places365),
:class:`R2Plus1D18` (torchvision Kinetics-400), :class:`VGGish` (the PyTorch
port of AudioSet VGGish).
"""

from mmx_core.extract.backbones.r2plus1d import R2Plus1D18
from mmx_core.extract.backbones.resnet import ResNet50
from mmx_core.extract.backbones.vggish import VGGish

__all__ = ["ResNet50", "R2Plus1D18", "VGGish"]
