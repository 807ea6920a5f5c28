"""One video -> the inputs of every clip, for every expert (the work of a decoding worker).

Two passes over the file, each streaming: the first decodes small frames for
shot detection (:mod:`mmx_core.extract.shots`); then the clip plan is made
(:mod:`mmx_core.extract.plan`); the second decodes again and keeps, for each
expert, only the frames its sampling asks for, scaled to the expert's size
and centre-cropped, plus each clip's audio window. A clip is handed on as
soon as all its inputs are there, so memory holds a few clips, never the video.

The frame used for a sample time ``t`` is the frame on screen at ``t`` (the
last frame whose presentation time is <= ``t``), so variable frame rates are
sampled by time.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from mmx_core.extract.audio_track import AudioWindows
from mmx_core.extract.budget import FrameGuard, MediaBudget
from mmx_core.extract.clip_frames import ClipAssembler
from mmx_core.extract.plan import plan_trailer
from mmx_core.extract.shots import ShotDetector, scan_shots
from mmx_core.extract.video import DecodeError, iter_raw_frames, probe

__all__ = ["ExpertInput", "DecodeSpec", "decode_video", "decode_messages", "decode_worker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpertInput:
    """What the decoder must produce for one expert (a picklable summary of its sampling)."""

    name: str
    modality: str  # "video" or "audio"
    frames_per_clip: int = 0
    fps: float | None = None
    resize: int = 0
    size: int = 0
    sample_rate: int = 16000

    @classmethod
    def of(cls, expert) -> "ExpertInput":
        """The decoding needs of an :class:`~mmx_core.extract.experts.base.Expert` (from its sampling)."""
        s = expert.sampling
        if expert.modality == "audio":
            return cls(expert.name, "audio", sample_rate=int(s.sample_rate))
        return cls(expert.name, "video", frames_per_clip=int(s.frames_per_clip), fps=s.fps, resize=int(s.resize),
                   size=int(s.size))


@dataclass(frozen=True)
class DecodeSpec:
    """Everything a decoding worker needs besides the file.

    ``budget`` bounds what one file may cost (:class:`~mmx_core.extract.budget.MediaBudget`);
    ``allow_partial`` keeps the part of a truncated or damaged file that decodes instead of failing it.
    """

    experts: tuple[ExpertInput, ...]
    detector: ShotDetector
    clip_seconds: float
    clips_per_sequence: int
    thumbnails: bool = True
    budget: MediaBudget = field(default_factory=MediaBudget)
    allow_partial: bool = False


def decode_video(path: str | Path, spec: DecodeSpec) -> Iterator[tuple[str, Any]]:
    """Decode one video into messages.

    Yields
    ------
    ("plan", dict)
        First: ``clip_counts``, ``duration``, ``cuts``, ``has_audio``, ``frames`` (first pass), ``partial``
        (why only part of the file decoded, kept under ``allow_partial``; None for a whole file).
    ("clip", (k, {expert: ndarray or None}))
        Clip ``k``'s inputs in clip order: video experts (T, size, size, 3) uint8,
        audio experts (n,) float32; None when that expert has no input for the clip
        (no audio stream, unreadable audio).
    ("thumb", (sequence, jpeg bytes))
        One per sequence (when thumbnails are on).
    ("done", dict)
        Last: ``frames`` decoded over both passes, ``seconds`` spent, ``notes``, ``partial``
        (every reason only part of the file was used; empty for a whole file).

    Raises
    ------
    DecodeError
        The file cannot be decoded at all, or is truncated or damaged without ``spec.allow_partial``
        (the caller reports it and goes on).
    OverBudget
        The file goes over ``spec.budget``: refused during the first pass, before any clip is planned.
    """
    started = time.perf_counter()
    budget = spec.budget
    info = probe(path, budget)
    guard = FrameGuard(budget, path)
    scan = scan_shots(path, spec.detector, info.fps, guard=guard)
    partial = [reason for reason in (guard.stopped, budget.truncation(
        declared_duration=info.duration, declared_frames=info.declared_frames, end=scan.duration, frames=scan.frames,
        fps=info.fps)) if reason]
    _refuse_partial(path, partial, spec.allow_partial)
    budget.check_clips(path, scan.duration, spec.clip_seconds)
    plan = plan_trailer(scan.cuts, scan.duration, clip_seconds=spec.clip_seconds,
                        clips_per_sequence=spec.clips_per_sequence)
    notes: list[str] = []
    yield "plan", {"clip_counts": plan.clip_counts.tolist(), "duration": plan.duration, "cuts": scan.cuts,
                   "sequences": [[round(a, 4), round(b, 4)] for a, b in plan.sequence_bounds()],
                   "has_audio": info.has_audio, "frames": scan.frames, "width": info.width, "height": info.height,
                   "rotation": info.rotation, "partial": "; ".join(partial) or None}
    windows = _audio_windows(path, spec.experts, info.has_audio, notes)
    second = FrameGuard(budget, path)
    frames = scan.frames + (yield from _clips(path, scan.frames, ClipAssembler(plan, spec, windows), second))
    _close_audio(windows, notes, partial)
    if second.stopped and not guard.stopped:
        partial.append(second.stopped)
    _refuse_partial(path, partial, spec.allow_partial)
    yield "done", {"frames": frames, "seconds": time.perf_counter() - started, "notes": notes,
                   "partial": list(dict.fromkeys(partial))}


def _clips(path: str | Path, planned_frames: int, clips: ClipAssembler, guard) -> Iterator[tuple[str, Any]]:
    """The second pass: every frame into the clips it belongs to, each clip's message once it is whole.

    Returns the frames read (never more than the first pass planned with).
    """
    frames, previous = 0, None
    for t, frame, rot in iter_raw_frames(path, guard=guard):
        if guard.frames > planned_frames:
            break
        frames += 1
        if previous is not None:
            yield from clips.fill(previous[0], previous[1], t)
            yield from clips.ready()
        previous = (frame, rot)
    if previous is not None:
        yield from clips.fill(previous[0], previous[1], None)
    clips.finish()
    yield from clips.ready()
    return frames


def _close_audio(windows: dict[int, AudioWindows | None], notes: list[str], partial: list[str]) -> None:
    """Close the audio readers; one that stopped early is noted and makes the video partial."""
    for reader in windows.values():
        if reader is not None:
            if reader.failed:
                notes.append(f"audio decoding stopped: {reader.failed}")
                partial.append(f"audio decoding stopped ({reader.failed})")
            reader.close()


def _refuse_partial(path: str | Path, partial: list[str], allow_partial: bool) -> None:
    """Fail a truncated or damaged file (one line, every reason) unless ``allow_partial`` keeps what decoded."""
    if partial and not allow_partial:
        raise DecodeError("truncated or damaged: " + "; ".join(dict.fromkeys(partial)) +
                          " (--allow-partial keeps what decodes)", path)


def _audio_windows(path: str | Path, experts, has_audio: bool, notes: list[str]) -> dict[int, AudioWindows | None]:
    """The audio reader of each audio expert (by index); None without audio, or when it cannot be read (noted)."""
    windows: dict[int, AudioWindows | None] = {}
    for i in [i for i, e in enumerate(experts) if e.modality == "audio"]:
        windows[i] = None
        if has_audio:
            try:
                windows[i] = AudioWindows(path, experts[i].sample_rate)
            except DecodeError as exc:
                notes.append(f"audio unreadable: {exc.message}")
    return windows


def decode_messages(index: int, path: Path, spec: DecodeSpec) -> Iterator[tuple[int, str, Any]]:
    try:
        for kind, payload in decode_video(path, spec):
            yield index, kind, payload
    except DecodeError as exc:
        yield index, "failed", exc.message
    except MemoryError:
        yield index, "failed", "out of memory while decoding"
    except Exception as exc:  # noqa: BLE001 - a damaged file can make any decoder layer raise
        log.debug("decoding %s failed", path, exc_info=True)
        yield index, "failed", f"decoding failed ({type(exc).__name__}: {str(exc)[:120]})"


def decode_worker(tasks, results, spec: DecodeSpec) -> None:
    """Body of a decoding process: videos from ``tasks`` until None, messages into ``results``.

    Stops as soon as its parent is gone (e.g. killed), instead of decoding on for nobody.
    """
    parent = os.getppid()
    while True:
        task = tasks.get()
        if task is None:
            results.put(None)
            return
        index, path = task
        for message in decode_messages(index, Path(path), spec):
            while True:
                try:
                    results.put(message, timeout=1.0)
                    break
                except queue.Full:
                    if os.getppid() != parent:
                        results.cancel_join_thread()  # nobody reads the queue any more: do not wait to flush it
                        return
