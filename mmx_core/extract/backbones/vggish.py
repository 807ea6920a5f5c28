"""VGGish audio backbone with the parameter names of the widely used PyTorch port.

Loads ``vggish-10086976.pth`` strictly: ``features.{0,3,6,8,11,13}`` (3x3
convs; ReLUs and max-pools between them hold no parameters) and
``embeddings.{0,2,4}`` (fully connected 12288 -> 4096 -> 4096 -> 128, each
followed by ReLU as in the port). The port's optional PCA/quantisation
postprocessing is not applied: features are the raw 128-d embeddings.
"""

from __future__ import annotations

import torch
from torch import nn


class VGGish(nn.Module):
    """VGG-like network over 0.96 s log-mel examples.

    Shape:
        - Input: (N, 1, 96, 64): 96 frames of 10 ms by 64 mel bands
          (see :mod:`mmx_core.extract.audio`)
        - Output: (N, 128)
    """

    feature_dim = 128

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for item in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, 128), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (N, 512, 6, 4)
        # The port flattens in (time, frequency, channel) order, as the original TF model.
        x = x.permute(0, 2, 3, 1).flatten(1)
        return self.embeddings(x)
