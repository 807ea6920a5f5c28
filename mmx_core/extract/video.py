"""Decoding video files with PyAV: probing, and streamed frames.

Nothing here holds a whole video in memory: frames are yielded one at a
time (already scaled by FFmpeg's scaler to the size asked for). Rotation
metadata (the stream's display matrix) is honoured: frames come out the way
a player shows them. Frame times come from each frame's presentation
timestamp, so variable frame rates are handled by time, not by frame number.
Audio windows are read by :mod:`mmx_core.extract.audio_track`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from mmx_core.base.errors import escape_control
from mmx_core.extract.audio_track import AudioWindows
from mmx_core.extract.budget import FrameGuard, MediaBudget
from mmx_core.extract.media import DecodeError, ffmpeg_reason, open_media

__all__ = ["VideoInfo", "DecodeError", "probe", "iter_raw_frames", "frame_array", "iter_frames", "AudioWindows",
           "display_size", "resized_size"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns from a file's header.

    Attributes
    ----------
    width, height : int
        Displayed size (after rotation).
    rotation : int
        Counter-clockwise display rotation in degrees (0, 90, 180, 270).
    fps : float
        Average frame rate from the header (0 when unknown).
    duration : float
        Seconds, from the header (0 when unknown).
    has_audio : bool
        Whether the file has an audio stream.
    declared_frames : int
        Frame count the header declares (0 when it declares none; not an estimate).
    """

    width: int
    height: int
    rotation: int
    fps: float
    duration: float
    has_audio: bool
    declared_frames: int = 0


def _rotation(stream) -> int:
    """Counter-clockwise display rotation of a video stream from its display matrix side data."""
    try:
        matrix = stream.side_data.get("DISPLAYMATRIX") if hasattr(stream, "side_data") else None
        return _quarter_turns(float(matrix) if matrix is not None else 0.0)
    except Exception:  # noqa: BLE001 - side data layouts vary between PyAV versions; frames carry it too
        return 0


def _quarter_turns(degrees: float | None) -> int:
    """A rotation in degrees rounded to 0, 90, 180 or 270."""
    return int(round((degrees or 0) / 90.0)) % 4 * 90


def _video_stream(container, path: str | Path):
    """The container's first video stream; :class:`DecodeError` naming what it holds when it has none."""
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise DecodeError(f"no video stream (holds {', '.join(kinds)})", path)
    return container.streams.video[0]


def probe(path: str | Path, budget: MediaBudget | None = None) -> VideoInfo:
    """Header facts of a video file; with ``budget``, a header declaring more than it is refused before decoding.

    Raises
    ------
    DecodeError
        The file is empty, unreadable, not media, or has no video stream.
    OverBudget
        The header declares a frame size, duration or frame count over ``budget``.
    """
    with open_media(path) as container:
        stream = _video_stream(container, path)
        ctx = stream.codec_context
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        rotation = _rotation(stream)
        declared_frames = max(0, int(stream.frames or 0))
        if budget is not None:
            budget.check_header(path, width=int(ctx.width or 0), height=int(ctx.height or 0), duration=duration,
                                frames=declared_frames)
        try:  # the first frame carries the display rotation and proves the stream decodes
            first = next(container.decode(stream), None)
        except Exception as exc:  # noqa: BLE001 - any FFmpeg failure here means the stream is unusable
            raise DecodeError(f"the video stream cannot be decoded ({ffmpeg_reason(exc)})", path) from None
        if first is None:
            raise DecodeError("the video stream holds no frame (empty or truncated)", path)
        rotation = _quarter_turns(getattr(first, "rotation", rotation))
        width, height = int(ctx.width or 0), int(ctx.height or 0)  # after the first frame, which may set them
        if width <= 0 or height <= 0:
            raise DecodeError("the video stream has no frame size (damaged header)", path)
        width, height = display_size(width, height, rotation)
        return VideoInfo(width=width, height=height, rotation=rotation, fps=fps, duration=duration,
                         has_audio=bool(container.streams.audio), declared_frames=declared_frames)


def display_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    """(width, height) as shown, for coded ``width`` x ``height`` rotated by ``rotation``."""
    return (height, width) if rotation % 180 == 90 else (width, height)


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) scaled so that the shorter side is ``short_side`` (aspect ratio kept)."""
    scale = short_side / min(width, height)
    return max(short_side, int(round(width * scale))), max(short_side, int(round(height * scale)))


def iter_raw_frames(path: str | Path, *, guard: FrameGuard | None = None) -> Iterator[tuple[float, Any, int]]:
    """Decode the first video stream: ``(time in s, av.VideoFrame, rotation)`` per frame.

    Times are presentation timestamps (kept strictly increasing); ``rotation``
    is the frame's counter-clockwise display rotation (0, 90, 180, 270).
    ``guard`` (a :class:`~mmx_core.extract.budget.FrameGuard`, fresh per pass) checks each
    frame before it is yielded and notes a decoding error after the first frame (``guard.stopped``);
    without it such an error is logged and the frames before it are kept.

    Raises
    ------
    DecodeError
        When the file cannot be opened or no frame at all can be decoded.
    OverBudget
        A frame goes over ``guard``'s budget (time, jump between frames, size, count).
    """
    import av

    container = open_media(path)
    try:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = 1
        fallback_rotation = _rotation(stream)
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        last_time = None
        n = 0
        try:
            for frame in container.decode(stream):
                rot = _quarter_turns(getattr(frame, "rotation", fallback_rotation))
                t = frame.time
                if t is None:
                    t = 0.0 if last_time is None else last_time + 1.0 / fps
                if last_time is not None and t <= last_time:
                    t = last_time + 1e-6  # out-of-order or repeated timestamps: keep time increasing
                if guard is not None:
                    guard.frame(float(t), int(frame.width), int(frame.height))
                last_time = t
                n += 1
                yield float(t), frame, rot
        except av.error.FFmpegError as exc:
            if n == 0:
                raise DecodeError(f"no frame could be decoded ({ffmpeg_reason(exc)})", path) from None
            if guard is not None:
                guard.stop(ffmpeg_reason(exc))
            else:
                log.warning("%s: decoding stopped after %d frames (%s); the rest is ignored", escape_control(path), n,
                            ffmpeg_reason(exc))
        if n == 0:
            raise DecodeError("no frame could be decoded (empty or truncated video stream)", path)
    finally:
        container.close()


def frame_array(frame, rotation: int = 0, *, short_side: int | None = None, width: int | None = None,
                pixel_format: str = "rgb24") -> np.ndarray:
    """A decoded frame as (H, W, 3) uint8, rotated for display and scaled by FFmpeg.

    ``short_side`` scales the displayed frame's shorter side to that many
    pixels; ``width`` scales to that displayed width; neither keeps the size.
    """
    shown_w, shown_h = display_size(frame.width, frame.height, rotation)
    if short_side is not None:
        out_w, out_h = resized_size(shown_w, shown_h, short_side)
    elif width is not None:
        out_w, out_h = int(width), max(1, int(round(shown_h * width / shown_w)))
    else:
        out_w, out_h = shown_w, shown_h
    target_w, target_h = display_size(out_w, out_h, rotation)
    image = frame.to_ndarray(width=target_w, height=target_h, format=pixel_format)
    if rotation:
        image = np.ascontiguousarray(np.rot90(image, k=rotation // 90))
    return image


def iter_frames(path: str | Path, *, short_side: int | None = None, width: int | None = None,
                pixel_format: str = "rgb24", rotate: bool = True,
                guard: FrameGuard | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Decode the first video stream as arrays: ``(time in s, (H, W, 3) uint8)`` per frame.

    See :func:`frame_array` for ``short_side``, ``width`` and ``pixel_format``;
    ``rotate=False`` ignores the display rotation; ``guard`` as in :func:`iter_raw_frames`.
    """
    for t, frame, rot in iter_raw_frames(path, guard=guard):
        yield t, frame_array(frame, rot if rotate else 0, short_side=short_side, width=width,
                             pixel_format=pixel_format)
