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

import io
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from mmx_core.extract.plan import TrailerPlan, plan_trailer, sample_times
from mmx_core.extract.shots import ShotDetector, scan_shots
from mmx_core.extract.video import AudioWindows, DecodeError, frame_array, iter_raw_frames, probe

__all__ = ["ExpertInput", "DecodeSpec", "decode_video", "decode_messages", "decode_worker", "THUMB_SIDE"]

log = logging.getLogger(__name__)

THUMB_SIDE = 96  # short side (px) of saved thumbnails


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
    """Everything a decoding worker needs besides the file."""

    experts: tuple[ExpertInput, ...]
    detector: ShotDetector
    clip_seconds: float
    clips_per_sequence: int
    thumbnails: bool = True


def _centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[top:top + size, left:left + size]


def _jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class _Requests:
    """Sample times of every (clip, expert, slot), sorted, consumed as frames stream past."""

    def __init__(self, plan: TrailerPlan, spec: DecodeSpec):
        rows = []  # (time, clip, expert index, slot)
        self.needed = np.zeros(len(plan.clips), dtype=np.int64)
        video = [(i, e) for i, e in enumerate(spec.experts) if e.modality == "video"]
        for k, clip in enumerate(plan.clips):
            for i, e in video:
                for slot, t in enumerate(sample_times(clip, e.frames_per_clip, e.fps)):
                    rows.append((float(t), k, i, slot))
            self.needed[k] += sum(e.frames_per_clip for _, e in video)
        self.thumbs: list[tuple[float, int]] = []
        if spec.thumbnails:
            for s, (a, b) in enumerate(plan.sequence_bounds()):
                self.thumbs.append((0.5 * (a + b), s))
        rows.sort()
        self.rows = rows
        self.pos = 0
        self.thumb_pos = 0

    def take_before(self, t: float | None) -> list[tuple[float, int, int, int]]:
        """Requests with time < ``t`` (all remaining when ``t`` is None)."""
        start = self.pos
        while self.pos < len(self.rows) and (t is None or self.rows[self.pos][0] < t):
            self.pos += 1
        return self.rows[start:self.pos]

    def thumbs_before(self, t: float | None) -> list[int]:
        out = []
        while self.thumb_pos < len(self.thumbs) and (t is None or self.thumbs[self.thumb_pos][0] < t):
            out.append(self.thumbs[self.thumb_pos][1])
            self.thumb_pos += 1
        return out


def decode_video(path: str | Path, spec: DecodeSpec) -> Iterator[tuple[str, Any]]:
    """Decode one video into messages.

    Yields
    ------
    ("plan", dict)
        First: ``clip_counts``, ``duration``, ``cuts``, ``has_audio``, ``frames`` (header estimate).
    ("clip", (k, {expert: ndarray or None}))
        Clip ``k``'s inputs in clip order: video experts (T, size, size, 3) uint8,
        audio experts (n,) float32; None when that expert has no input for the clip
        (no audio stream, unreadable audio).
    ("thumb", (sequence, jpeg bytes))
        One per sequence (when thumbnails are on).
    ("done", dict)
        Last: ``frames`` decoded over both passes, ``seconds`` spent, ``notes``.

    Raises
    ------
    DecodeError
        The file cannot be decoded at all (the caller reports it and goes on).
    """
    started = time.perf_counter()
    info = probe(path)
    scan = scan_shots(path, spec.detector, info.fps)
    plan = plan_trailer(scan.cuts, scan.duration, clip_seconds=spec.clip_seconds,
                        clips_per_sequence=spec.clips_per_sequence)
    notes: list[str] = []
    yield "plan", {"clip_counts": plan.clip_counts.tolist(), "duration": plan.duration, "cuts": scan.cuts,
                   "sequences": [[round(a, 4), round(b, 4)] for a, b in plan.sequence_bounds()],
                   "has_audio": info.has_audio, "frames": scan.frames, "width": info.width, "height": info.height,
                   "rotation": info.rotation}

    experts = spec.experts
    audio_experts = [i for i, e in enumerate(experts) if e.modality == "audio"]
    windows: dict[int, AudioWindows | None] = {}
    for i in audio_experts:
        windows[i] = None
        if info.has_audio:
            try:
                windows[i] = AudioWindows(path, experts[i].sample_rate)
            except DecodeError as exc:
                notes.append(f"audio unreadable: {exc.message}")
    requests = _Requests(plan, spec)
    buffers: dict[int, dict[int, np.ndarray]] = {}
    remaining = requests.needed.copy()
    next_clip = 0
    max_short = max([e.resize for e in experts if e.modality == "video"] + [THUMB_SIDE])

    def emit_ready() -> Iterator[tuple[str, Any]]:
        nonlocal next_clip
        while next_clip < len(plan.clips) and remaining[next_clip] == 0:
            k = next_clip
            clip = plan.clips[k]
            inputs: dict[str, np.ndarray | None] = {}
            for i, e in enumerate(experts):
                if e.modality == "video":
                    inputs[e.name] = buffers.get(k, {}).get(i)
                else:
                    reader = windows.get(i)
                    wave = None
                    if reader is not None:
                        wave = reader.window(clip.start, clip.end)
                        if reader.failed and not wave.size:
                            wave = None
                        elif not wave.size:
                            wave = None  # the audio track ended before this clip: missing, not silence
                    inputs[e.name] = wave
            buffers.pop(k, None)
            next_clip += 1
            yield "clip", (k, inputs)

    def fill(frame, rot: int, taken: list[tuple[float, int, int, int]], thumbs: list[int]) -> Iterator[tuple[str, Any]]:
        if not taken and not thumbs:
            return
        shorts = {experts[i].resize for _, _, i, _ in taken}
        base = frame_array(frame, rot, short_side=max(shorts | ({THUMB_SIDE} if thumbs else set())) or max_short)
        scaled: dict[int, np.ndarray] = {}
        for _, k, i, slot in taken:
            e = experts[i]
            if e.resize not in scaled:
                scaled[e.resize] = _scaled(base, e.resize)
            crop = _centre_crop(scaled[e.resize], e.size)
            store = buffers.setdefault(k, {})
            if i not in store:
                store[i] = np.zeros((e.frames_per_clip, e.size, e.size, 3), dtype=np.uint8)
            store[i][slot, :crop.shape[0], :crop.shape[1]] = crop
            remaining[k] -= 1
        for s in thumbs:
            yield "thumb", (s, _jpeg(_scaled(base, THUMB_SIDE)))

    frames = scan.frames
    previous = None
    for t, frame, rot in iter_raw_frames(path):
        frames += 1
        if previous is not None:
            yield from fill(previous[0], previous[1], requests.take_before(t), requests.thumbs_before(t))
            yield from emit_ready()
        previous = (frame, rot)
    if previous is not None:
        yield from fill(previous[0], previous[1], requests.take_before(None), requests.thumbs_before(None))
    remaining[:] = 0  # requests no frame could serve (none expected) leave zeros, never block
    yield from emit_ready()
    for reader in windows.values():
        if reader is not None:
            if reader.failed:
                notes.append(f"audio decoding stopped: {reader.failed}")
            reader.close()
    yield "done", {"frames": frames, "seconds": time.perf_counter() - started, "notes": notes}


def _scaled(image: np.ndarray, short_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if min(h, w) == short_side:
        return image
    import cv2

    scale = short_side / min(h, w)
    size = (max(short_side, int(round(w * scale))), max(short_side, int(round(h * scale))))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


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
    import os
    import queue

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
