"""Keyframe thumbnails of an extracted set: ``DIR/thumbnails.zip``.

The archive holds ``<trailer id>.jpg`` (the middle frame of the trailer's
longest sequence) and ``sequences/<trailer id>/<s>.jpg`` (the middle frame
of sequence ``s``), JPEGs with a 96-pixel short side. Trailer entries are
named as in the published set's archive, so :class:`mmx_core.trailers.published.ThumbnailArchive`
reads them the same way.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterable

from mmx_core.base.artefacts import atomic_path

__all__ = ["trailer_entry", "sequence_entry", "write_thumbnail_archive"]


def trailer_entry(trailer_id: str) -> str:
    return f"{trailer_id}.jpg"


def sequence_entry(trailer_id: str, sequence: int) -> str:
    return f"sequences/{trailer_id}/{int(sequence)}.jpg"


def write_thumbnail_archive(path: str | Path, entries: Iterable[tuple[str, bytes]]) -> Path:
    """Write ``(name, jpeg bytes)`` entries into a zip at ``path`` (atomically, stored, fixed dates)."""
    path = Path(path)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
    return path
