"""Pictures and video of a trailer for the app: thumbnails (published archive or an extracted data set's)
and, for sets extracted from the user's own videos, the source file and its sequence start times.

An embedding set made from a data set by ``embed --with-metadata`` carries a ``dataset`` column in its
trailer table (the data set folder); an extracted data set keeps ``thumbnails.zip`` (one keyframe per
trailer and per sequence) and ``sources.json`` (per trailer: the video file, cuts, sequence start/end
times) beside its manifest.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmx_core.trailers.published import PUBLISHED_THUMBNAILS, thumbnail_archive
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import under_served_roots
from mmx_core.extract.layout import SOURCES_NAME, THUMBNAILS_NAME

__all__ = ["TrailerVideo", "dataset_folder", "thumbnail_bytes", "trailer_video"]


def dataset_folder(metadata_row: pd.Series | dict | None) -> Path | None:
    """The data set folder a trailer row came from (its ``dataset`` column), when it still exists and lies under
    the folders the app may serve from (:func:`~mmx_core.base.paths.served_roots`): an uploaded table cannot
    point the app at any other folder of the server."""
    if metadata_row is None or not hasattr(metadata_row, "get"):
        return None
    value = metadata_row.get("dataset")
    if not isinstance(value, str) or not value:
        return None
    folder = under_served_roots(value)
    return folder if folder is not None and (folder / "manifest.json").is_file() else None


def thumbnail_bytes(trailer_id: str, metadata_row: pd.Series | dict | None = None,
                    sequence: int | None = None) -> bytes | None:
    """JPEG bytes of a trailer's thumbnail (or of one of its sequences), or None when there is none.

    A row from an extracted data set reads that set's ``thumbnails.zip``; otherwise the published archive
    (its ``thumbnail`` column, if any, names the file)."""
    folder = dataset_folder(metadata_row)
    try:
        if folder is not None and (folder / THUMBNAILS_NAME).is_file():
            name = f"sequences/{trailer_id}/{int(sequence)}.jpg" if sequence is not None else f"{trailer_id}.jpg"
            return thumbnail_archive(folder / THUMBNAILS_NAME).read(name)
        if not PUBLISHED_THUMBNAILS.exists():
            return None
        value = metadata_row.get("thumbnail") if metadata_row is not None else None
        name = value if isinstance(value, str) and value else f"{trailer_id}.jpg"
        return thumbnail_archive().read(name)
    except MMXError:
        return None


@dataclass(frozen=True)
class TrailerVideo:
    """The source video of an extracted trailer: the file and where each sequence starts (seconds)."""

    path: Path
    sequence_starts: tuple[float, ...]

    def start_of(self, sequence: int | None) -> int:
        """Whole seconds at which the player starts for ``sequence`` (the first sequence when None)."""
        if not self.sequence_starts:
            return 0
        index = 0 if sequence is None else min(max(int(sequence), 0), len(self.sequence_starts) - 1)
        return int(self.sequence_starts[index])


@functools.lru_cache(maxsize=16)
def _sources(path: Path, mtime_ns: int) -> dict[str, dict]:
    try:
        videos = json.loads(path.read_text()).get("videos", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(v.get("id")): v for v in videos if isinstance(v, dict)}


def trailer_video(trailer_id: str, metadata_row: pd.Series | dict | None) -> TrailerVideo | None:
    """The reachable source video of a trailer from an extracted set, or None (also when the file does not lie
    under the folders the app may serve from: move the videos under ``MMX_DATA_ROOTS``)."""
    folder = dataset_folder(metadata_row)
    if folder is None or not (folder / SOURCES_NAME).is_file():
        return None
    record = _sources(folder / SOURCES_NAME, (folder / SOURCES_NAME).stat().st_mtime_ns).get(str(trailer_id))
    video = under_served_roots(str(record.get("file", ""))) if record else None
    if video is None or not video.is_file():  # gone, or outside the folders the app may serve from
        return None
    starts = tuple(float(s[0]) for s in record.get("sequences", []) if isinstance(s, (list, tuple)) and s)
    return TrailerVideo(video, starts)
