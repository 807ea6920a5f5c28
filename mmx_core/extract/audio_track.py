"""The audio track of a media file as mono float32 windows, decoded lazily in time order (PyAV)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmx_core.extract.media import DecodeError, ffmpeg_reason, open_media

__all__ = ["AudioWindows"]


class AudioWindows:
    """The audio track of a file as mono float32 windows, decoded lazily in time order.

    Parameters
    ----------
    path : str or Path
        The media file.
    sample_rate : int
        Output rate (Hz).

    Notes
    -----
    Windows must be asked for in non-decreasing start time; samples before the
    last start asked for are dropped, so memory holds one window plus one
    decoded packet. Time before the first audio sample, or after the last, is
    silence only inside the track; a window wholly outside it is empty.
    Call :meth:`close` (or use ``with``) when done.
    """

    def __init__(self, path: str | Path, sample_rate: int = 16000):
        import av

        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self._container = open_media(path)
        if not self._container.streams.audio:
            self._container.close()
            raise DecodeError("no audio stream", path)
        self._stream = self._container.streams.audio[0]
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.sample_rate)
        self._frames = self._container.decode(self._stream)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._start = None  # sample index (at sample_rate) of _buffer[0]
        self._ended = False
        self.failed: str | None = None

    def _pull(self) -> bool:
        import av

        if self._ended:
            return False
        try:
            frame = next(self._frames)
        except StopIteration:
            self._ended = True
            return False
        except av.error.FFmpegError as exc:
            self._ended = True
            self.failed = ffmpeg_reason(exc)
            return False
        chunks = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        if self._start is None:
            t0 = frame.time if frame.time is not None else 0.0
            self._start = max(0, int(round(t0 * self.sample_rate)))
        if chunks:
            self._buffer = np.concatenate([self._buffer, *chunks]).astype(np.float32, copy=False)
        return True

    def window(self, start: float, end: float) -> np.ndarray:
        """Samples in ``[start, end)`` seconds, float32 mono, shape (n,).

        A window inside the track but partly before its first sample is padded
        with leading silence; the part after the track's end is cut off.
        """
        a = max(0, int(round(start * self.sample_rate)))
        b = max(a, int(round(end * self.sample_rate)))
        while (self._start is None or self._start + len(self._buffer) < b) and self._pull():
            pass
        if self._start is None:
            return np.zeros(0, dtype=np.float32)
        # drop what no later window can need
        if a > self._start:
            drop = min(a - self._start, len(self._buffer))
            self._buffer = self._buffer[drop:]
            self._start += drop
        lo, hi = a - self._start, min(b - self._start, len(self._buffer))
        if hi <= max(lo, 0):
            return np.zeros(0, dtype=np.float32)
        piece = self._buffer[max(lo, 0):hi]
        if lo < 0:
            piece = np.concatenate([np.zeros(-lo, dtype=np.float32), piece])
        return np.ascontiguousarray(piece, dtype=np.float32)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "AudioWindows":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
