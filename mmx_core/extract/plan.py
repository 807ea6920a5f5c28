"""From shot cuts to the data set's structure: sequences of clips, and when to sample each expert.

A sequence is a shot (the paper's scenes come from shot detection). Rules,
with ``L`` = ``clip_seconds`` (2 s by default) and ``C`` = ``clips_per_sequence`` (9):

- Shots shorter than ``L`` are merged with the shots after them until the
  run lasts at least ``L`` (trailers cut fast; a clip never needs padding).
  A run left shorter than ``L`` at the end of the video joins the previous
  sequence; a video shorter than ``L`` is one sequence of one short clip.
- A sequence of ``d`` seconds holds ``n = floor(d / L)`` clips of equal
  length ``d / n`` (between ``L`` and ``2 L``), tiling it without gaps.
- A shot with more than ``C`` clips becomes ``ceil(n / C)`` consecutive
  sequences with clip counts as equal as possible.

So a video shorter than ``C * L`` seconds gives one sequence of fewer than
``C`` clips (the rest are masked when read), never an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["Clip", "TrailerPlan", "plan_trailer", "sample_times"]


@dataclass(frozen=True)
class Clip:
    """One clip: ``[start, end)`` seconds inside its sequence, which spans ``[seq_start, seq_end)``."""

    start: float
    end: float
    seq_start: float
    seq_end: float

    @property
    def middle(self) -> float:
        return 0.5 * (self.start + self.end)


@dataclass(frozen=True)
class TrailerPlan:
    """The clips of one video, in time order.

    Attributes
    ----------
    clips : tuple of Clip
    clip_counts : ndarray of shape (n_sequences,)
        Clips of each sequence (1..C).
    duration : float
    """

    clips: tuple[Clip, ...]
    clip_counts: np.ndarray
    duration: float

    def sequence_bounds(self) -> list[tuple[float, float]]:
        firsts = np.cumsum(self.clip_counts) - self.clip_counts  # the first clip of each sequence
        return [(self.clips[k].seq_start, self.clips[k].seq_end) for k in firsts.tolist()]


def _runs(cuts: Sequence[float], duration: float, clip_seconds: float) -> list[tuple[float, float]]:
    edges = [0.0] + sorted(c for c in cuts if 0.0 < c < duration) + [duration]
    runs: list[tuple[float, float]] = []
    start = edges[0]
    for end in edges[1:]:
        if end - start >= clip_seconds - 1e-9:
            runs.append((start, end))
            start = end
    if start < duration - 1e-9:  # a short tail joins the previous run
        if runs:
            runs[-1] = (runs[-1][0], duration)
        else:
            runs.append((start, duration))
    return runs


def plan_trailer(cuts: Sequence[float], duration: float, *, clip_seconds: float = 2.0,
                 clips_per_sequence: int = 9) -> TrailerPlan:
    """Sequences and clips of a video with shot cuts at ``cuts`` (seconds) lasting ``duration``.

    Parameters
    ----------
    cuts : sequence of float
        Start times of shots after the first.
    duration : float
        Length of the video (s), > 0.
    clip_seconds : float
        The shortest clip (L).
    clips_per_sequence : int
        The most clips a sequence holds (C).

    Returns
    -------
    TrailerPlan
    """
    if not duration > 0:
        raise ValueError(f"duration must be > 0, got {duration}")
    clips: list[Clip] = []
    counts: list[int] = []
    for run_start, run_end in _runs(cuts, duration, clip_seconds):
        d = run_end - run_start
        n = max(1, int(math.floor(d / clip_seconds + 1e-9)))
        slot = d / n
        parts = math.ceil(n / clips_per_sequence)
        sizes = [n // parts + (1 if i < n % parts else 0) for i in range(parts)]
        k = 0
        for size in sizes:
            seq_start, seq_end = run_start + k * slot, run_start + (k + size) * slot
            if k + size == n:
                seq_end = run_end
            for i in range(k, k + size):
                end = run_end if i == n - 1 else run_start + (i + 1) * slot
                clips.append(Clip(run_start + i * slot, end, seq_start, seq_end))
            counts.append(size)
            k += size
    return TrailerPlan(tuple(clips), np.asarray(counts, dtype=np.int64), float(duration))


def sample_times(clip: Clip, frames_per_clip: int, fps: float | None) -> np.ndarray:
    """Times (s) of the frames an expert sees in ``clip``.

    ``fps`` None: frame i at the centre of the i-th of ``frames_per_clip``
    equal parts of the clip. Otherwise consecutive frames at ``fps`` centred on
    the clip's middle, kept inside the clip's sequence (times past its ends
    take its first or last frame).
    """
    if fps is None:
        step = (clip.end - clip.start) / frames_per_clip
        return clip.start + (np.arange(frames_per_clip) + 0.5) * step
    times = clip.middle + (np.arange(frames_per_clip) - (frames_per_clip - 1) / 2.0) / float(fps)
    last = max(clip.seq_start, clip.seq_end - 1e-6)
    return np.clip(times, clip.seq_start, last)
