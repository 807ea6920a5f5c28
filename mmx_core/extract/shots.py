"""Shot boundaries with PySceneDetect's content or adaptive detector.

The detectors are fed frames we decode ourselves (small BGR frames from
:func:`~mmx_core.extract.video.iter_frames`), so frame numbers map to
presentation times and variable frame rates are handled by time. A cut is
the time of the first frame of a new shot.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmx_core.base.constraints import Choice, Real, check_params

__all__ = ["DETECTORS", "ShotDetector", "ShotScan", "scan_shots"]

DETECTORS = ("content", "adaptive")
# Frames are scaled to this width for detection (PySceneDetect's own default downscale
# target is about 256 px wide; cuts between shots do not need more).
DETECT_WIDTH = 160


@dataclass(frozen=True)
class ShotDetector:
    """Which detector and with which parameters.

    Parameters
    ----------
    kind : {"content", "adaptive"}
        ``content``: a cut where the HSV/edge change between consecutive
        frames reaches ``threshold`` (PySceneDetect's ContentDetector, default
        27). ``adaptive``: where that change, relative to the average of its
        neighbours, reaches ``threshold`` (AdaptiveDetector, default 3).
    threshold : float, optional
        The detector's threshold; None takes PySceneDetect's default.
    min_shot_seconds : float
        No shot is shorter than this (converted to frames at the video's rate).
    """

    kind: str = "content"
    threshold: float | None = None
    min_shot_seconds: float = 0.5

    def validate(self) -> "ShotDetector":
        Choice(DETECTORS).check("detector", self.kind)  # what the record, extract_videos and --detector call it
        return check_params(self, threshold=Real(0, low_open=True, none=True), min_shot_seconds=Real(0))

    def effective_threshold(self) -> float:
        default = 27.0 if self.kind == "content" else 3.0
        return default if self.threshold is None else float(self.threshold)

    def to_dict(self) -> dict[str, Any]:
        return {"detector": self.kind, "threshold": self.effective_threshold(),
                "min_shot_seconds": float(self.min_shot_seconds), "detect_width": DETECT_WIDTH}

    def make(self, fps: float):
        """A fresh PySceneDetect detector for a video at ``fps`` frames per second."""
        from scenedetect.detectors import AdaptiveDetector, ContentDetector

        min_len = max(1, int(round(self.min_shot_seconds * (fps if fps > 0 else 25.0))))
        if self.kind == "content":
            return ContentDetector(threshold=self.effective_threshold(), min_scene_len=min_len)
        return AdaptiveDetector(adaptive_threshold=self.effective_threshold(), min_scene_len=min_len)


@dataclass
class ShotScan:
    """Result of one pass over a video.

    Attributes
    ----------
    cuts : list of float
        Times (s) where a new shot starts (never 0).
    duration : float
        End of the last frame (s).
    frames : int
        Frames decoded.
    """

    cuts: list[float]
    duration: float
    frames: int


def scan_shots(path: str | Path, detector: ShotDetector, fps: float, guard=None) -> ShotScan:
    """Decode the video once at low resolution and find its cuts.

    Parameters
    ----------
    fps : float
        The header's frame rate (for the minimum shot length in frames and
        the last frame's duration when timestamps do not give it).
    guard : FrameGuard, optional
        Checks each frame against a media budget (:mod:`mmx_core.extract.budget`).
    """
    from mmx_core.extract.video import iter_frames

    det = detector.make(fps)
    times: list[float] = []
    cut_frames: list[int] = []
    for index, (t, image) in enumerate(iter_frames(path, width=DETECT_WIDTH, pixel_format="bgr24", rotate=False,
                                                  guard=guard)):
        times.append(t)
        cut_frames.extend(det.process_frame(index, image))
    cut_frames.extend(det.post_process(len(times)) or [])
    cuts = sorted({times[f] for f in cut_frames if 0 < f < len(times)})
    if len(times) >= 2:
        step = statistics.median_high(b - a for a, b in zip(times, times[1:]))
    else:
        step = 1.0 / fps if fps > 0 else 0.04
    return ShotScan(cuts=cuts, duration=times[-1] + step, frames=len(times))
