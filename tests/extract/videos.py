"""A PyAV factory of tiny test videos with known structure.

Each video is a run of shots; a shot is a flat colour field with a small
square moving across it, and shots change at known times (hard cuts). An
optional sine tone is muxed as the audio track. Everything is made in a few
milliseconds at 64 x 48, so the extraction tests need no media files.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numpy as np

__all__ = ["PALETTE", "make_video", "make_corrupt", "make_audio_only", "shot_colour"]

# Distinct colours (RGB): neighbouring shots differ strongly in hue and lightness.
PALETTE = [(220, 30, 30), (30, 200, 40), (30, 40, 220), (230, 220, 40), (200, 40, 200), (40, 210, 210),
           (240, 240, 240), (20, 20, 20)]


def shot_colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def _frame_image(shot: int, t: float, width: int, height: int) -> np.ndarray:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = shot_colour(shot)
    side = max(4, height // 4)
    x = int((t * 17.0) % max(1, width - side))
    y = (height - side) // 2
    image[y:y + side, x:x + side] = 255 - np.asarray(shot_colour(shot), dtype=np.uint8)
    return image


def make_video(
    path: str | Path,
    *,
    duration: float = 4.0,
    cuts: Sequence[float] = (),
    fps: float = 12.0,
    size: tuple[int, int] = (64, 48),
    audio: bool = True,
    tone_hz: float = 440.0,
    sample_rate: int = 16000,
    frame_times: Sequence[float] | None = None,
    rotation: int | None = None,
    codec: str = "libx264",
) -> Path:
    """Write a test video and return its path.

    Parameters
    ----------
    duration : float
        Seconds of video (frames at ``k / fps`` for ``k / fps < duration``).
    cuts : sequence of float
        Times (s) of hard cuts; shot i spans ``[cuts[i-1], cuts[i])``.
    frame_times : sequence of float, optional
        Explicit frame times (variable frame rate); overrides ``fps`` / ``duration``.
    rotation : int, optional
        Display rotation written as stream side data (degrees counter-clockwise).
    """
    path = Path(path)
    width, height = size
    times = list(frame_times) if frame_times is not None else [k / fps for k in range(int(round(duration * fps)))]
    cut_list = sorted(float(c) for c in cuts)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(int(round(fps * 1000)), 1000))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "bf": "0"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        audio_stream = None
        if audio:
            audio_stream = container.add_stream("aac", rate=sample_rate)
            audio_stream.layout = "mono"
        for t in times:
            shot = sum(1 for c in cut_list if t >= c - 1e-9)
            frame = av.VideoFrame.from_ndarray(_frame_image(shot, t, width, height), format="rgb24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            total = int(round((times[-1] + 1.0 / fps if times else duration) * sample_rate))
            wave = (0.3 * np.sin(2 * np.pi * tone_hz * np.arange(total) / sample_rate)).astype(np.float32)
            block = 1024
            for start in range(0, total, block):
                chunk = wave[start:start + block][None, :]
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                for packet in audio_stream.encode(frame):
                    container.mux(packet)
            for packet in audio_stream.encode():
                container.mux(packet)
    return path


def make_audio_only(path: str | Path, seconds: float = 2.0, sample_rate: int = 16000) -> Path:
    """An .mp4 holding only an audio track."""
    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        total = int(seconds * sample_rate)
        wave = (0.3 * np.sin(2 * np.pi * 330 * np.arange(total) / sample_rate)).astype(np.float32)
        for start in range(0, total, 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[None, start:start + 1024]),
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_corrupt(path: str | Path, size: int = 4096, seed: int = 0) -> Path:
    """A file of random bytes with a video file's name."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path
