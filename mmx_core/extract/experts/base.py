"""The interface every extraction expert implements.

An expert is one pre-trained single-modality network (the paper's Ψe) plus
everything needed to feed it: how the pipeline samples its input from a clip
(:class:`VideoSampling` or :class:`AudioSampling`), how one clip becomes a
model input (:meth:`Expert.prepare`), how a batch of inputs becomes features
(:meth:`Expert.forward_batch`) and where its weights come from
(:class:`~mmx_core.extract.weights.WeightsFile`).

The pipeline uses an expert in four steps::

    resolved = resolve_weights(experts, weights_dir=..., untrained=False)   # before decoding
    module = expert.build(weights=resolved[expert.name], device=device)
    batch = torch.stack([expert.prepare(clip) for clip in clips])           # video
    batch = torch.cat([expert.prepare(wave) for wave in waves])             # audio
    feats = expert.forward_batch(module, batch)                             # (n, expert.dim)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mmx_core.extract.weights import ResolvedWeights, WeightsFile, load_expert_weights

__all__ = ["VideoSampling", "AudioSampling", "Expert", "VideoExpert"]


@dataclass(frozen=True)
class VideoSampling:
    """How the pipeline samples frames of one clip for a video expert.

    Attributes
    ----------
    frames_per_clip : int
        T, frames given to the expert per clip.
    fps : float or None
        Rate the T frames are taken at (consecutive frames resampled to this
        rate, centred on the clip's middle), for experts that see motion.
        None: the T frames are spread evenly over the clip (frame i at the
        centre of the i-th of T equal parts of the clip).
    resize : int
        Short side of the frame after resizing (aspect ratio kept).
    size : int
        Side of the square centre crop taken after resizing; frames handed
        to :meth:`Expert.prepare` are ``size x size``.
    mean, std : tuple of 3 float
        RGB normalisation applied by :meth:`Expert.prepare` to values in [0, 1].
    """

    frames_per_clip: int
    fps: float | None
    resize: int
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "video", **asdict(self), "mean": list(self.mean), "std": list(self.std)}


@dataclass(frozen=True)
class AudioSampling:
    """How the pipeline samples the sound of one clip for an audio expert.

    Attributes
    ----------
    sample_rate : int
        The clip's audio is resampled to this rate, mono, float32 in [-1, 1].
    example_seconds : float
        Each feature frame covers one example of this length (no overlap).
    """

    sample_rate: int = 16000
    example_seconds: float = 0.96

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "audio", **asdict(self)}


class Expert(ABC):
    """One extraction expert: backbone, input sampling, weights, output dim.

    Subclasses set the class attributes and implement :meth:`create_module`,
    :meth:`prepare` and :meth:`forward_batch`. Instances are stateless and
    shared (the registry holds one of each).

    Attributes
    ----------
    name : str
        Expert name in the data set manifest (``image``, ``scene``, ...).
    backbone : str
        Network name recorded in the manifest (``resnet50``, ``r2plus1d_18``, ...).
    dim : int
        Output feature dimension D.
    temporal : {"pooled", "frames"}
        As in the manifest: ``pooled`` gives one feature per clip, ``frames``
        one per example (several per clip).
    modality : {"video", "audio"}
        What the pipeline decodes for this expert.
    sampling : VideoSampling or AudioSampling
        How the pipeline samples the expert's input from a clip.
    weights : WeightsFile
        The published weights file this expert loads.
    """

    name: str
    backbone: str
    dim: int
    temporal: str
    modality: str
    sampling: VideoSampling | AudioSampling
    weights: WeightsFile

    @abstractmethod
    def create_module(self) -> nn.Module:
        """The backbone with random weights, parameter names as the weights file."""

    def convert_state_dict(self, raw: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Turn the object stored in the weights file into the module's state dict.

        Default: the file holds the state dict itself.
        """
        return raw

    @abstractmethod
    def prepare(self, clip: np.ndarray | torch.Tensor) -> torch.Tensor:
        """One clip's decoded input -> model input (CPU float32 tensor).

        Video experts: ``clip`` is uint8 of shape (T, size, size, 3), RGB,
        already resized and cropped as :attr:`sampling` says; returns one
        item to ``torch.stack`` into a batch.
        Audio experts: ``clip`` is float32 mono of shape (n_samples,) at
        ``sampling.sample_rate``; returns (n_examples, ...) to ``torch.cat``
        into a batch (n_examples may be 0 for an empty waveform).
        """

    @abstractmethod
    def forward_batch(self, module: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        """Features of a batch: float32 tensor of shape (n, dim) on ``batch.device``.

        One row per clip for ``pooled`` experts, per example for ``frames``.
        Runs under ``torch.inference_mode``, in the autocast of its caller
        (:class:`~mmx_core.extract.infer.ExpertRunner`, the run's ``--precision``):
        the returned features are float32 whatever it is.
        """

    def build(
        self,
        *,
        weights: ResolvedWeights | None = None,
        weights_dir: str | Path | None = None,
        device: str | torch.device = "cpu",
        untrained: bool = False,
    ) -> nn.Module:
        """The backbone in eval mode on ``device``, with its published weights.

        Parameters
        ----------
        weights : ResolvedWeights, optional
            From :func:`~mmx_core.extract.weights.resolve_weights`; when
            omitted the weights are resolved here (``weights_dir``, then the
            torch hub cache, then download).
        weights_dir : str or Path, optional
            Folder searched first for the weights file.
        device : str or torch.device
            Where the module lives.
        untrained : bool
            Random weights (for testing the pipeline only); never implied.

        Raises
        ------
        MMXError
            Weights file absent and not downloadable, or not in the expected layout.
        """
        module = self.create_module()
        if not untrained:
            load_expert_weights(self, module, weights=weights, weights_dir=weights_dir)
        module.eval().requires_grad_(False)
        return self.to_device(module, torch.device(device))

    def to_device(self, module: nn.Module, device: torch.device) -> nn.Module:
        """Move the module (subclasses may also pick a memory format)."""
        return module.to(device)

    def describe(self) -> dict[str, Any]:
        """Backbone, dim, temporal layout and sampling (no weights info)."""
        return {"backbone": self.backbone, "dim": int(self.dim), "temporal": self.temporal, "modality": self.modality,
                "sampling": self.sampling.to_dict()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, backbone={self.backbone!r}, dim={self.dim})"


class VideoExpert(Expert):
    """Shared video input handling: uint8 (T, S, S, 3) -> normalised float (T, 3, S, S)."""

    modality = "video"
    sampling: VideoSampling

    def _normalised_frames(self, clip: np.ndarray | torch.Tensor) -> torch.Tensor:
        if not isinstance(clip, torch.Tensor):
            array = np.asarray(clip)
            clip = torch.from_numpy(array if array.flags.writeable else array.copy())
        frames, s = clip, self.sampling
        if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"{self.name}: expected uint8 frames (T, H, W, 3), got {tuple(frames.shape)} {frames.dtype}")
        if frames.shape[1] != s.size or frames.shape[2] != s.size:
            raise ValueError(f"{self.name}: expected {s.size}x{s.size} frames, got {tuple(frames.shape[1:3])}")
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(s.mean).view(1, 3, 1, 1)
        std = torch.tensor(s.std).view(1, 3, 1, 1)
        return (x - mean) / std
