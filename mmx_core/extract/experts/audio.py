"""Audio expert: VGGish (the PyTorch port's published file), 128-d per 0.96 s example."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmx_core.extract.audio import waveform_to_examples
from mmx_core.extract.backbones.vggish import VGGish
from mmx_core.extract.experts.base import AudioSampling, Expert
from mmx_core.extract.weights import WeightsFile


class AudioExpert(Expert):
    """Sound features: several 128-d frames a clip, one per 0.96 s of audio.

    ``prepare``: float32 mono (n_samples,) at 16 kHz -> (n_examples, 1, 96, 64)
    log-mel examples (:func:`mmx_core.extract.audio.waveform_to_examples`).
    ``forward_batch``: (n, 1, 96, 64) -> (n, 128). No PCA postprocessing.
    """

    name = "audio"
    backbone = "vggish"
    dim = 128
    temporal = "frames"
    modality = "audio"
    sampling = AudioSampling(sample_rate=16000, example_seconds=0.96)
    weights = WeightsFile(
        file_name="vggish-10086976.pth",
        url="https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
        what="VGGish (AudioSet), PyTorch port of the TensorFlow release",
        how_to_get="the torchvggish project's v0.1 release",
    )

    def create_module(self) -> nn.Module:
        return VGGish()

    def prepare(self, clip: np.ndarray | torch.Tensor) -> torch.Tensor:
        return waveform_to_examples(clip, self.sampling.sample_rate)

    def forward_batch(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return module(batch).float()
