"""The media budget: what one video file may cost, checked while it is decoded, before any clip is planned.

A file is refused (reported, never planned) when its header or its frames go over a limit of
:class:`MediaBudget`: duration, frame count, frame size, a jump between consecutive frame times,
or more clips than a video may give. A file whose frames end well before what its header declares,
or whose decoding stops on an error, is **truncated**: a failure too, unless ``allow_partial``
keeps what decoded (said in the report and the manifest). The checks run per frame, so a hostile
file costs at most the budget's frames, whatever its header or timestamps claim.

The defaults live here once; ``extract --help`` and the generated block ``media-budget`` of
docs/extract.md are written from them (the block through ``python -m mmx_core docs``, like every block
the code defines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

from mmx_core.base.constraints import Interval, Real
from mmx_core.extract.media import DecodeError

__all__ = ["MediaBudget", "FrameGuard", "OverBudget", "OPTIONS", "MEANINGS", "DOC", "BLOCK", "budget_markdown"]

DOC, BLOCK = "docs/extract.md", "media-budget"
OPTIONS = {"max_duration": "--max-duration", "max_frame_gap": "--max-frame-gap", "max_frames": "--max-frames",
          "max_pixels": "--max-pixels", "max_clips": "--max-clips"}
"""The command-line option of each limit a user may tune (``extract --help``)."""
MEANINGS = {
    "max_duration": "longest video, declared by the header or reached by a frame (s)",
    "max_frame_gap": "longest jump between the times of consecutive frames (s)",
    "max_frames": "most frames one pass over a video decodes",
    "max_pixels": "largest frame, width x height",
    "max_clips": "most clips one video is planned into",
    "truncation_seconds": "frames ending more than this before the declared duration: truncated (s)",
    "truncation_fraction": "... or more than this fraction of it, whichever is larger",
}
"""What each limit of :class:`MediaBudget` bounds (the ``--help`` texts and the docs' table)."""


class OverBudget(DecodeError):
    """A video file goes over a limit of the :class:`MediaBudget` (reported and skipped, never planned)."""


@dataclass(frozen=True)
class MediaBudget:
    """Limits on what one video may cost; validated once, on construction.

    :data:`MEANINGS` says what each limit bounds. A video whose frames end more than
    ``max(truncation_seconds, truncation_fraction x declared)`` before the duration its header declares (or fall
    short of its declared frame count by as much) is truncated.
    """

    max_duration: float = 3 * 3600.0
    max_frame_gap: float = 60.0
    max_frames: int = 720_000
    max_pixels: int = 7680 * 4320
    max_clips: int = 10_000
    truncation_seconds: float = 1.0
    truncation_fraction: float = 0.02

    def __post_init__(self):
        ratios = {"truncation_seconds": Real(0), "truncation_fraction": Real(0, 1, high_open=True)}
        for f in fields(self):
            allowed = ratios.get(f.name) or Interval(0, low_open=True, integer=isinstance(f.default, int))
            allowed.check(f.name, getattr(self, f.name))

    def check_header(self, path: str | Path, *, width: int, height: int, duration: float, frames: int) -> None:
        """Refuse a file whose header declares more than the budget (before any frame is decoded).

        Raises
        ------
        OverBudget
        """
        self.check_size(path, width, height)
        if duration > self.max_duration:
            raise OverBudget(f"declares {_seconds(duration)} (limit {_seconds(self.max_duration)}, {OPTIONS['max_duration']})",
                             path)
        if frames > self.max_frames:
            raise OverBudget(f"declares {frames} frames (limit {self.max_frames}, {OPTIONS['max_frames']})", path)

    def check_size(self, path: str | Path, width: int, height: int) -> None:
        """Refuse frames of ``width`` x ``height`` over ``max_pixels``."""
        if int(width) * int(height) > self.max_pixels:
            raise OverBudget(f"frames of {width} x {height} pixels are over the limit of {self.max_pixels} pixels "
                             f"({OPTIONS['max_pixels']})", path)

    def truncation(self, *, declared_duration: float, declared_frames: int, end: float, frames: int,
                   fps: float) -> str | None:
        """Why a video whose frames end at ``end`` s (``frames`` decoded) is truncated; None when it is not."""
        if declared_duration > 0:
            missing = declared_duration - end
            if missing > max(self.truncation_seconds, self.truncation_fraction * declared_duration):
                return f"the header declares {_seconds(declared_duration)} but frames end at {_seconds(end)}"
        if declared_frames > 0:
            slack = max(self.truncation_seconds * (fps if fps > 0 else 25.0), self.truncation_fraction * declared_frames)
            if declared_frames - frames > slack:
                return f"the header declares {declared_frames} frames but {frames} decode"
        return None

    def check_clips(self, path: str | Path, duration: float, clip_seconds: float) -> None:
        """Refuse a video that would be planned into more than ``max_clips`` clips (before planning).

        The planner makes at most ``max(1, floor(duration / clip_seconds))`` clips.
        """
        most = max(1, math.floor(duration / clip_seconds + 1e-9))
        if most > self.max_clips:
            raise OverBudget(f"{_seconds(duration)} in clips of {clip_seconds:g} s would be {most} clips "
                             f"(limit {self.max_clips}, {OPTIONS['max_clips']})", path)

    def describe(self) -> dict[str, float | int]:
        """The limits as a plain dict (for the manifest and the docs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FrameGuard:
    """Checks each frame of one decoding pass against a :class:`MediaBudget`; notes where decoding stopped.

    Attributes
    ----------
    frames : int
        Frames seen.
    last_time : float or None
        Time (s) of the last frame seen.
    stopped : str or None
        Why decoding stopped before the end of the stream (an FFmpeg error), when it did.
    """

    def __init__(self, budget: MediaBudget, path: str | Path):
        self.budget, self.path = budget, Path(path)
        self.frames = 0
        self.last_time: float | None = None
        self.stopped: str | None = None

    def frame(self, t: float, width: int, height: int) -> None:
        """Account for one decoded frame at ``t`` s; raises :class:`OverBudget` at the first limit passed."""
        b = self.budget
        self.frames += 1
        if self.frames > b.max_frames:
            raise OverBudget(f"more than {b.max_frames} frames ({OPTIONS['max_frames']})", self.path)
        b.check_size(self.path, width, height)
        if not math.isfinite(t) or t > b.max_duration:
            raise OverBudget(f"a frame at {_seconds(t)} is past the limit of {_seconds(b.max_duration)} "
                             f"({OPTIONS['max_duration']})", self.path)
        if self.last_time is not None and abs(t - self.last_time) > b.max_frame_gap:
            raise OverBudget(f"frame times jump from {_seconds(self.last_time)} to {_seconds(t)} (limit "
                             f"{b.max_frame_gap:g} s between frames, {OPTIONS['max_frame_gap']})", self.path)
        self.last_time = t

    def stop(self, reason: str) -> None:
        """Decoding stopped on an error after some frames."""
        self.stopped = f"decoding stopped after {self.frames} frames ({reason})"


def _seconds(value: float) -> str:
    if not math.isfinite(value) or abs(value) >= 1e9:
        return f"{value:.3g} s"
    return f"{value:.3f}".rstrip("0").rstrip(".") + " s" + (f" ({value / 3600:.3g} h)" if abs(value) >= 3600 else "")


def budget_markdown(budget: MediaBudget | None = None) -> str:
    """A Markdown table of the budget's limits (the defaults unless ``budget`` is given)."""
    budget = budget or MediaBudget()
    lines = ["| limit | option | default | meaning |", "| --- | --- | --- | --- |"]
    for name, value in budget.describe().items():
        flag, meaning = OPTIONS.get(name, ""), MEANINGS[name]
        shown = str(value) if isinstance(value, int) else f"{value:g}"
        lines.append(f"| `{name}` | {f'`{flag}`' if flag else '-'} | `{shown}` | {meaning} |")
    return "\n".join(lines)
