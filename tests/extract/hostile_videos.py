"""Hostile variants of the test videos of :mod:`videos`: timestamp jumps, truncation, faststart MP4, odd names.

Everything is a few KB, made in milliseconds with PyAV.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videos import make_video

__all__ = ["make_jump", "make_faststart", "truncate", "make_raw_video"]


def make_jump(path: str | Path, *, seconds: float = 2.0, fps: float = 12.0, jump_to: float = 36000.0) -> Path:
    """``seconds`` of frames, then one frame at ``jump_to`` s (the header then declares that long a video)."""
    times = [k / fps for k in range(int(round(seconds * fps)))] + [float(jump_to)]
    return make_video(path, frame_times=times, fps=fps, audio=False)


def make_faststart(path: str | Path, **video) -> Path:
    """An MP4 whose index (moov) comes first, as streaming sites write them: a truncated one still opens."""
    path = Path(path)
    plain = make_video(path.with_name(path.stem + ".plain.mp4"), **video)
    with av.open(str(plain)) as source, av.open(str(path), "w", options={"movflags": "faststart"}) as target:
        mapping = {s.index: target.add_stream_from_template(s) for s in source.streams if s.type in ("video", "audio")}
        for packet in source.demux():
            if packet.dts is None or packet.stream.index not in mapping:
                continue
            packet.stream = mapping[packet.stream.index]
            target.mux(packet)
    plain.unlink()
    return path


def truncate(path: str | Path, fraction: float, out: str | Path | None = None) -> Path:
    """The first ``fraction`` of ``path``'s bytes, written to ``out`` (default: in place)."""
    path = Path(path)
    data = path.read_bytes()
    target = Path(out) if out is not None else path
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def make_raw_video(path: str | Path, pts: list[int], *, size: tuple[int, int] = (32, 24),
                   container: str = "matroska") -> Path:
    """Frames with exactly the presentation timestamps ``pts`` (milliseconds; any order, jumps, huge), MPEG-4 Part 2.

    The encoder sees increasing timestamps; the packets are then muxed with ``pts`` as given, so the
    container holds whatever a hostile file may (non-monotonic, repeated, far apart).
    """
    path = Path(path)
    width, height = size
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"g": "1"}  # every frame a keyframe: each packet decodes alone
        rng = np.random.default_rng(len(pts))
        packets = []
        for k in range(len(pts)):
            image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, 1000)
            packets.extend(stream.encode(frame))
        packets.extend(stream.encode())
        for packet, t in zip(packets, pts):
            packet.pts = packet.dts = int(t)
            try:
                out.mux(packet)
            except (av.error.FFmpegError, ValueError):  # the muxer refuses some orders: the file holds the rest
                pass
    return path
