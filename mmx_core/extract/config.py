"""The parameters of one extraction, validated once and carried through the pipeline: :class:`ExtractConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from mmx_core.base.constraints import Int, Real, check_params
from mmx_core.base.devices import DEFAULT_PRECISION, check_precision
from mmx_core.extract.budget import MediaBudget
from mmx_core.extract.shots import ShotDetector

if TYPE_CHECKING:  # the plan's parts import torch; the config is read by the CLI's parser, which must not
    from mmx_core.extract.decode import DecodeSpec
    from mmx_core.extract.experts.base import Expert
    from mmx_core.extract.listing import VideoItem
    from mmx_core.extract.weights import ResolvedWeights

__all__ = ["ExtractConfig", "ExtractPlan", "DEFAULT_CLIP_SECONDS", "CLIPS_PER_SEQUENCE", "DEFAULT_EXPERTS"]

DEFAULT_CLIP_SECONDS = 2.0
CLIPS_PER_SEQUENCE = 9
DEFAULT_EXPERTS: tuple[str, ...] = ("image", "scene", "motion", "audio")


@dataclass(frozen=True)
class ExtractConfig:
    """How videos become expert features (everything but which videos, where to and the run's bookkeeping).

    Parameters
    ----------
    experts : str or sequence
        Comma-separated names (default: the four of :data:`DEFAULT_EXPERTS`), names, or :class:`Expert` objects.
    device : {"auto", "cpu", "cuda"}
    precision : {"auto", "fp32", "bf16", "fp16"}
        The experts' autocast (:func:`~mmx_core.base.devices.resolve_precision`; ``"auto"``: bfloat16 on a CPU
        with matrix units). What ran, and why, is in the manifest's ``extraction.precision``; ``"fp32"`` gives
        the float32 features bit for bit. Stored features are float16 whatever the precision.
    batch_size, workers : int
        Clips (audio: 0.96 s examples) per forward pass, every pass this size; decoding processes (0: this one).
    threads : int, optional
        Torch intra-op threads of the experts (default: torch's own count, which follows the cores the process
        may use; torchrun sets 1 per process). CPU kernels sum in an order that depends on it: features are
        byte-identical between runs with the same threads.
    weights_dir : path, optional
        Folder holding the weights files (before the torch cache and a download).
    untrained, download : bool
        Random backbone weights (pipeline tests only; recorded in the manifest); download missing weights files
        into the torch cache.
    detector, threshold, min_shot_seconds, clip_seconds :
        Shot detection (:class:`~mmx_core.extract.shots.ShotDetector`); shortest clip (:mod:`~mmx_core.extract.plan`).
    thumbnails : bool
        Save keyframe thumbnails (``thumbnails.zip``).
    budget : MediaBudget
        What one video may cost: a file over it is reported as failed, never planned.
    allow_partial, strict : bool
        Keep what decodes of a truncated or damaged file (reported, in ``report.partial`` and the manifest)
        instead of failing it; refuse doubtful metadata matches instead of warning.
    """

    experts: str | Sequence[Any] = ",".join(DEFAULT_EXPERTS)
    device: str = "auto"
    precision: str = DEFAULT_PRECISION
    batch_size: int = 8
    workers: int = 1
    threads: int | None = None
    weights_dir: str | Path | None = None
    untrained: bool = False
    download: bool = True
    detector: str = "content"
    threshold: float | None = None
    min_shot_seconds: float = 0.5
    clip_seconds: float = DEFAULT_CLIP_SECONDS
    thumbnails: bool = True
    budget: MediaBudget = field(default_factory=MediaBudget)
    allow_partial: bool = False
    strict: bool = False

    def validate(self) -> "ExtractConfig":
        """Refuse a bad parameter (one line naming it) before any work; returns self."""
        check_params(self, batch_size=Int(1), workers=Int(0, 256), threads=Int(1, none=True),
                     clip_seconds=Real(0, low_open=True))
        self.shot_detector()
        check_precision(self.precision, self.device)
        return self

    def shot_detector(self) -> ShotDetector:
        return ShotDetector(self.detector, self.threshold, self.min_shot_seconds).validate()


@dataclass
class ExtractPlan:
    """What the first step settled: the videos, their data-set rows, the experts, their weights, the decoding."""

    items: list[VideoItem]  # in the data set's order
    rows: list[dict]
    experts: list[Expert]
    resolved: dict[str, ResolvedWeights]  # by expert name
    spec: DecodeSpec
