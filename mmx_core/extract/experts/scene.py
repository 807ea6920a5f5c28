"""Scene expert: ResNet-50 trained on Places365 (CSAIL's published file), 2048-d per clip."""

from __future__ import annotations

from typing import Any

import torch

from mmx_core.extract.experts.resnet_expert import ResNetFramesExpert
from mmx_core.extract.weights import WeightsFile


class SceneExpert(ResNetFramesExpert):
    """Place/scene features (the paper's location expert): Places365 ResNet-50, pooled over frames.

    The published file is a training checkpoint: a dict whose ``state_dict``
    keys carry the ``module.`` prefix of ``DataParallel``; ``fc`` has 365 outputs.
    """

    name = "scene"
    num_classes = 365
    weights = WeightsFile(
        file_name="resnet50_places365.pth.tar",
        url="http://places2.csail.mit.edu/models_places365/resnet50_places365.pth.tar",
        what="ResNet-50 trained on Places365 (CSAIL)",
        how_to_get="CSAIL's Places365 release, models_places365/resnet50_places365.pth.tar",
    )

    def convert_state_dict(self, raw: dict[str, Any]) -> dict[str, torch.Tensor]:
        state = raw.get("state_dict", raw) if isinstance(raw, dict) else raw
        if not isinstance(state, dict):
            raise TypeError(f"expected a dict with 'state_dict', got {type(raw).__name__}")
        return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
