"""Which videos, and what is known about them: file listing and the metadata table.

Videos are found recursively under a folder (or given as files) and get an
id: their path relative to the folder, without the extension (with it when
two files differ only by extension). The optional metadata table (CSV or
parquet) is keyed by ``id`` or ``file`` (a file name, a relative path or an
id) and gives ``title``, ``year``, ``genres`` (a list, or one string split on
``|`` or ``;``) and optionally ``split``. A video without a row gets its
file name as title, no genres (:data:`UNLABELLED` in the data set, whose
format needs one) and a split drawn from a hash of its id.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from mmx_core.base.errors import MMXError

__all__ = ["VIDEO_SUFFIXES", "UNLABELLED", "VideoItem", "list_videos", "read_metadata", "trailer_rows",
           "split_of", "genre_vocabulary"]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv")
UNLABELLED = "Unlabelled"
_SPLITS = ("train", "val", "test")
_SPLIT_FRACTIONS = (0.7, 0.1)


@dataclass(frozen=True)
class VideoItem:
    """One input video: its file, its id and its path relative to the input folder."""

    path: Path
    id: str
    relative: str


def list_videos(videos: str | Path | Sequence[str | Path]) -> list[VideoItem]:
    """Video files under a folder (recursive) or from a list, in a fixed order.

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
                if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith("."):
                    found.append((path, path.relative_to(item).as_posix()))
        elif item.exists():
            found.append((item, item.name))
        else:
            raise MMXError("no such file or folder; give a folder of videos or video files", item)
    if not found:
        raise MMXError(f"no video files ({', '.join(VIDEO_SUFFIXES[:5])}, ...) found", inputs[0] if inputs else None)
    stems = [rel.rsplit(".", 1)[0] if "." in Path(rel).name else rel for _, rel in found]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    items = [VideoItem(path, stem if counts[stem] == 1 else rel, rel) for (path, rel), stem in zip(found, stems)]
    items.sort(key=lambda v: v.id)
    if len({v.id for v in items}) != len(items):
        raise MMXError("two inputs give the same id; rename one of them", items[0].path)
    return items


def split_of(trailer_id: str) -> str:
    """Deterministic 70/10/20 train/val/test split from a hash of the id."""
    u = (zlib.crc32(trailer_id.encode()) % 10000) / 10000
    return "train" if u < _SPLIT_FRACTIONS[0] else "val" if u < sum(_SPLIT_FRACTIONS) else "test"


def _genres(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        parts = re.split(r"[|;]", value)
    elif isinstance(value, (list, tuple, np.ndarray)):
        parts = [str(v) for v in value]
    else:
        return []
    out: list[str] = []
    for part in parts:
        name = part.strip()
        if name and name not in out:
            out.append(name)
    return out


def read_metadata(path: str | Path) -> pd.DataFrame:
    """The metadata table, one row per key, with ``key``, ``title``, ``year``, ``genres``, ``split``.

    Raises
    ------
    MMXError
        Unreadable file, no ``id``/``file`` column, repeated keys, or bad split values.
    """
    path = Path(path)
    if not path.is_file():
        raise MMXError("metadata file not found; give a CSV or parquet table", path)
    try:
        table = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pandas raises many types for a bad table
        raise MMXError(f"cannot read the metadata table ({type(exc).__name__}: {str(exc)[:100]})", path) from None
    key_column = next((c for c in ("id", "file", "filename", "path") if c in table.columns), None)
    if key_column is None:
        raise MMXError(f"the metadata table needs an 'id' or 'file' column; it has {list(table.columns)[:8]}", path)
    keys = table[key_column].astype(str).str.strip()
    if keys.duplicated().any():
        raise MMXError(f"{key_column} {keys[keys.duplicated()].iloc[0]!r} appears twice in the metadata table", path)
    out = pd.DataFrame({"key": keys})
    out["title"] = table["title"].astype("string") if "title" in table.columns else pd.NA
    out["year"] = pd.to_numeric(table["year"], errors="coerce").astype("Int64") if "year" in table.columns else pd.NA
    out["genres"] = [_genres(v) for v in table["genres"]] if "genres" in table.columns else [[] for _ in keys]
    if "split" in table.columns:
        splits = table["split"].astype("string").str.strip().str.lower()
        bad = splits[splits.notna() & ~splits.isin(_SPLITS)]
        if len(bad):
            raise MMXError(f"split {bad.iloc[0]!r} is not one of {list(_SPLITS)}", path)
        out["split"] = splits
    else:
        out["split"] = pd.NA
    return out


def _lookup(table: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if table is None:
        return {}
    return {str(r["key"]): r for r in table.to_dict("records")}


def trailer_rows(items: Iterable[VideoItem], table: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One data set row per video (id, title, year, genres, split), metadata where it has a row.

    A row matches a video by id, relative path, file name or file stem, in that order.
    """
    lookup = _lookup(table)
    rows = []
    for item in items:
        meta = None
        for key in (item.id, item.relative, item.path.name, item.path.stem):
            if key in lookup:
                meta = lookup[key]
                break
        title = item.path.stem
        year = None
        genres: list[str] = []
        split = split_of(item.id)
        if meta is not None:
            if meta.get("title") is not None and not pd.isna(meta["title"]) and str(meta["title"]).strip():
                title = str(meta["title"]).strip()
            if meta.get("year") is not None and not pd.isna(meta["year"]):
                year = int(meta["year"])
            genres = list(meta["genres"])
            if meta.get("split") is not None and not pd.isna(meta["split"]):
                split = str(meta["split"])
        rows.append({"id": item.id, "title": title, "year": year, "genres": genres or [UNLABELLED],
                     "split": split, "labelled": bool(genres)})
    return rows


def genre_vocabulary(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every genre met, sorted (:data:`UNLABELLED` last, when some video has no genre)."""
    names = sorted({g for r in rows for g in r["genres"] if g != UNLABELLED})
    if any(UNLABELLED in r["genres"] for r in rows):
        names.append(UNLABELLED)
    return names
