"""Which videos: the files found under a folder (or given), each with an id, in a fixed order.

A video's id is its path relative to the folder, without the extension (with it when two files differ
only by extension). A symbolic link is followed only when its target stays inside the folder it was found in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mmx_core.base.errors import MMXError

__all__ = ["VIDEO_SUFFIXES", "VideoItem", "list_videos"]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv")


@dataclass(frozen=True)
class VideoItem:
    """One input video: its file, its id and its path relative to the input folder.

    ``refused`` says why the file must not be opened (a symbolic link whose target leaves the folder it
    was found in); such an item is reported as failed, never decoded.
    """

    path: Path
    id: str
    relative: str
    refused: str | None = None


def _link_refusal(path: Path, folder: Path) -> str | None:
    """Why ``path`` (found in ``folder``) is refused: a symbolic link whose target resolves outside ``folder``."""
    try:
        target = path.resolve(strict=True)
        inside = target.is_relative_to(folder.resolve(strict=True))
    except (OSError, RuntimeError):  # a dangling or looping link
        return "a symbolic link to nothing readable; not followed"
    if not inside:
        return "a symbolic link that points out of its folder; not followed (copy the file in instead)"
    return None


def list_videos(videos: str | Path | Sequence[str | Path]) -> list[VideoItem]:
    """Video files under a folder (recursive) or from a list, in a fixed order.

    A file that is a symbolic link is kept only when its target resolves inside the folder it was found
    in: the folder walked, or for a file given directly, the folder holding it. Any other link is
    listed with :attr:`VideoItem.refused` set (reported as failed, never opened). Links to folders are
    not walked into.

    Raises
    ------
    MMXError
        A path that does not exist, or no video found.
    """
    inputs = [videos] if isinstance(videos, (str, Path)) else list(videos)
    found: list[tuple[Path, str]] = []
    for item in inputs:
        item = Path(item).expanduser()
        if item.is_dir():
            for path in sorted(item.rglob("*")):
                if (path.is_file() or path.is_symlink()) and path.suffix.lower() in VIDEO_SUFFIXES \
                        and not path.name.startswith("."):
                    found.append((path, path.relative_to(item).as_posix(),
                                  _link_refusal(path, item) if path.is_symlink() else None))
        elif item.exists() or item.is_symlink():
            found.append((item, item.name, _link_refusal(item, item.parent) if item.is_symlink() else None))
        else:
            raise MMXError("no such file or folder; give a folder of videos or video files", item)
    if not found:
        raise MMXError(f"no video files ({', '.join(VIDEO_SUFFIXES[:5])}, ...) found", inputs[0] if inputs else None)
    stems = [rel.rsplit(".", 1)[0] if "." in Path(rel).name else rel for _, rel, _ in found]
    counts = Counter(stems)
    items = [VideoItem(path, stem if counts[stem] == 1 else rel, rel, refused)
             for (path, rel, refused), stem in zip(found, stems)]
    items.sort(key=lambda v: v.id)
    if len({v.id for v in items}) != len(items):
        raise MMXError("two inputs give the same id; rename one of them", items[0].path)
    return items
