"""Opening media files with PyAV, and the one error a file that cannot be decoded raises."""

from __future__ import annotations

import re
from pathlib import Path

from mmx_core.base.errors import MMXError, first_line

__all__ = ["DecodeError", "open_media", "ffmpeg_reason"]


class DecodeError(MMXError):
    """A video file cannot be read (corrupt, truncated, empty, no video stream, unreadable)."""


def open_media(path: str | Path):
    """The PyAV container of ``path``; :class:`DecodeError` (one line, naming the file) when it cannot be opened."""
    import av

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DecodeError("empty file (0 bytes)", path)
        return av.open(str(path), metadata_errors="ignore")
    except DecodeError:
        raise
    except PermissionError:
        raise DecodeError("cannot be read (permission denied)", path) from None
    except FileNotFoundError:
        raise DecodeError("file not found", path) from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(f"not a readable media file ({ffmpeg_reason(exc)})", path) from None


def ffmpeg_reason(exc: BaseException) -> str:
    """The first line of an FFmpeg error's text, without its errno and path (at most 120 characters)."""
    text = first_line(exc)
    # FFmpeg errors read "[Errno N] reason: 'path'"; keep the reason only
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text.split(": '")[0][:120]

