"""The second decoding pass: which frames each expert samples, scaled and centre-cropped, gathered into whole clips.

:class:`ClipAssembler` lists the sample time of every (clip, expert, slot) and of every
sequence's thumbnail, fills them as frames stream past and hands on each clip, in clip order,
as soon as all its inputs are there.
"""

from __future__ import annotations

import bisect
import io
import math
from typing import Any, Iterator

import numpy as np

from mmx_core.extract.audio_track import AudioWindows
from mmx_core.extract.plan import TrailerPlan, sample_times
from mmx_core.extract.video import frame_array, resized_size

__all__ = ["ClipAssembler", "THUMB_SIDE"]

THUMB_SIDE = 96  # short side (px) of saved thumbnails


def _centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[top:top + size, left:left + size]


def _jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _scaled(image: np.ndarray, short_side: int) -> np.ndarray:
    h, w = image.shape[:2]
    if min(h, w) == short_side:
        return image
    import cv2

    interpolation = cv2.INTER_AREA if short_side < min(h, w) else cv2.INTER_LINEAR
    return cv2.resize(image, resized_size(w, h, short_side), interpolation=interpolation)


class ClipAssembler:
    """The inputs of each clip of ``plan``, for every expert of ``spec``, gathered from streamed frames.

    ``windows`` maps the index of each audio expert to its :class:`AudioWindows` (None: no audio).
    """

    def __init__(self, plan: TrailerPlan, spec, windows: dict[int, AudioWindows | None]):
        self.plan, self.experts, self.windows = plan, spec.experts, windows
        video = [(i, e) for i, e in enumerate(spec.experts) if e.modality == "video"]
        # sample requests (time, clip, expert index, slot) and thumbnails (time, sequence), consumed in time order
        self.requests = sorted((float(t), k, i, slot) for k, clip in enumerate(plan.clips) for i, e in video
                               for slot, t in enumerate(sample_times(clip, e.frames_per_clip, e.fps)))
        self.thumbs = [(0.5 * (a + b), s) for s, (a, b) in enumerate(plan.sequence_bounds())] if spec.thumbnails else []
        self.taken = self.thumbs_taken = 0
        self.remaining = np.full(len(plan.clips), sum(e.frames_per_clip for _, e in video), dtype=np.int64)
        self.buffers: dict[int, dict[int, np.ndarray]] = {}
        self.next_clip = 0

    def _take_before(self, t: float | None) -> tuple[list[tuple[float, int, int, int]], list[int]]:
        """The requests, and the sequences of the thumbnails, with time < ``t`` (all remaining when ``t`` is None)."""
        key = (math.inf if t is None else t,)
        start, self.taken = self.taken, bisect.bisect_left(self.requests, key, self.taken)
        thumbs_start, self.thumbs_taken = self.thumbs_taken, bisect.bisect_left(self.thumbs, key, self.thumbs_taken)
        return self.requests[start:self.taken], [s for _, s in self.thumbs[thumbs_start:self.thumbs_taken]]

    def ready(self) -> Iterator[tuple[str, Any]]:
        """``("clip", (k, {expert: input or None}))`` for each clip, in order, whose frames are all there."""
        plan, experts, windows, buffers, remaining = self.plan, self.experts, self.windows, self.buffers, self.remaining
        while self.next_clip < len(plan.clips) and remaining[self.next_clip] == 0:
            k = self.next_clip
            clip = plan.clips[k]
            inputs: dict[str, np.ndarray | None] = {}
            for i, e in enumerate(experts):
                if e.modality == "video":
                    inputs[e.name] = buffers.get(k, {}).get(i)
                else:
                    reader = windows.get(i)
                    wave = None if reader is None else reader.window(clip.start, clip.end)
                    # an empty window (the track ended before this clip, or its decoding failed): missing, not silence
                    inputs[e.name] = wave if wave is not None and wave.size else None
            buffers.pop(k, None)
            self.next_clip += 1
            yield "clip", (k, inputs)

    def fill(self, frame, rot: int, until: float | None) -> Iterator[tuple[str, Any]]:
        """Serve with ``frame`` (on screen until ``until``; None: the last frame) every request before ``until``.

        Yields ``("thumb", (sequence, jpeg bytes))`` for the thumbnails it serves.
        """
        taken, thumbs = self._take_before(until)
        if not taken and not thumbs:
            return
        experts = self.experts
        shorts = {experts[i].resize for _, _, i, _ in taken}
        base = frame_array(frame, rot, short_side=max(shorts | ({THUMB_SIDE} if thumbs else set())))
        scaled: dict[int, np.ndarray] = {}
        for _, k, i, slot in taken:
            e = experts[i]
            if e.resize not in scaled:
                scaled[e.resize] = _scaled(base, e.resize)
            crop = _centre_crop(scaled[e.resize], e.size)
            store = self.buffers.setdefault(k, {})
            if i not in store:
                store[i] = np.zeros((e.frames_per_clip, e.size, e.size, 3), dtype=np.uint8)
            store[i][slot, :crop.shape[0], :crop.shape[1]] = crop
            self.remaining[k] -= 1
        for s in thumbs:
            yield "thumb", (s, _jpeg(_scaled(base, THUMB_SIDE)))

    def finish(self) -> None:
        """After the last frame: requests no frame could serve (none expected) leave zeros, never block."""
        self.remaining[:] = 0
