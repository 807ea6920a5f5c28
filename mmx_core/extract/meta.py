"""What is known about the videos: the metadata table, matched to the videos found (:mod:`~mmx_core.extract.listing`).

The optional metadata table (CSV or
parquet) is keyed by ``id`` or ``file`` (a file name, a relative path or an
id, matched exactly or ignoring case) and gives ``title``, ``year``, ``genres`` (a list, or one string split on
``|`` or ``;``) and optionally ``split``. A video without a row gets its
file name as title, no genres (:data:`UNLABELLED` in the data set, whose
format needs one) and a split drawn from a hash of its id.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from mmx_core.base.errors import MMXError, escape_control
from mmx_core.data.manifest import SPLITS, split_of
from mmx_core.extract.listing import VideoItem

__all__ = ["UNLABELLED", "YEAR_RANGE", "FIRST_ROW", "read_metadata", "match_metadata", "trailer_rows", "split_of",
           "genre_vocabulary"]

log = logging.getLogger(__name__)

UNLABELLED = "Unlabelled"
YEAR_RANGE = (1870, 2100)
"""Years a metadata ``year`` may hold (inclusive)."""
FIRST_ROW = 2
"""Row number of a metadata table's first data row, as a spreadsheet shows it (the header is row 1)."""


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


class _Bad(ValueError):
    """A cell a column's parser refuses; the message says what the value is not ("is not a whole year")."""


def _text(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, (list, tuple, dict, np.ndarray, bytes)):
        raise _Bad("is not text")
    return str(value).strip()


def _year(value: Any) -> int | None:
    """An integer year in :data:`YEAR_RANGE`; ``2001.0`` is 2001, ``2001.5``, ``1e30`` or 20 digits are refused."""
    if _missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        raise _Bad("is not a year")
    if isinstance(value, (int, np.integer)):
        year = int(value)
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or float(value) != int(value):
            raise _Bad("is not a whole year")
        year = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,6}(\.0*)?", value.strip()):
        year = int(value.strip().split(".")[0])
    else:
        raise _Bad("is not a whole year such as 2001")
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise _Bad(f"is not a year from {YEAR_RANGE[0]} to {YEAR_RANGE[1]}")
    return year


def _genres(value: Any) -> list[str]:
    """A list of names, or one string split on ``|`` or ``;``; repeats dropped, order kept."""
    if isinstance(value, (list, tuple, np.ndarray)):
        parts = [str(v) for v in value if not _missing(v)]
    elif _missing(value):
        return []
    elif isinstance(value, str):
        parts = re.split(r"[|;]", value)
    else:
        raise _Bad("is not a list of genres or one string such as 'Drama|Horror'")
    return list(dict.fromkeys(name for name in (part.strip() for part in parts) if name))


def _split(value: Any) -> str | None:
    if _missing(value):
        return None
    split = str(value).strip().lower() if isinstance(value, str) else None
    if split not in SPLITS:
        raise _Bad(f"is not one of {list(SPLITS)}")
    return split


_PARSERS = {"title": _text, "year": _year, "genres": _genres, "split": _split}
"""The one parser of each metadata column (the key column is read by :func:`_text`)."""


def _cell(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return escape_control(text if len(text) <= 60 else text[:57] + "...")


def read_metadata(path: str | Path) -> pd.DataFrame:
    """The metadata table, one row per key, with ``key``, ``title``, ``year``, ``genres``, ``split`` and ``row``.

    Each column has one parser (``year``: an integer from ``YEAR_RANGE``, ``2001.0`` accepted; ``genres``: a
    list or ``'A|B'``; ``split``: train, val or test). ``row`` is the row as a spreadsheet shows it: the
    header is row 1, the first data row is row 2 (for parquet too).

    Raises
    ------
    MMXError
        Unreadable file, no ``id``/``file`` column, an empty or repeated key, or a bad value: one line naming the
        file, the row, the column and the value.
    """
    path = Path(path)
    if not path.is_file():
        raise MMXError("metadata file not found; give a CSV or parquet table", path)
    try:
        table = (pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq")
                 else pd.read_csv(path, dtype=str, keep_default_na=False))
    except Exception as exc:  # noqa: BLE001 - pandas raises many types for a bad table
        raise MMXError(f"cannot read the metadata table ({type(exc).__name__}: {str(exc)[:100]})", path) from None
    table.columns = [str(c).strip() for c in table.columns]
    key_column = next((c for c in ("id", "file", "filename", "path") if c in table.columns), None)
    if key_column is None:
        raise MMXError(f"the metadata table needs an 'id' or 'file' column; it has {list(table.columns)[:8]}", path)
    columns = {"key": (key_column, _text), **{c: (c, _PARSERS[c]) for c in _PARSERS}}
    records: dict[str, list[Any]] = {name: [] for name in columns}
    for name, (column, parse) in columns.items():  # a column the table lacks reads as empty cells
        for i, value in enumerate(table[column].tolist() if column in table.columns else [None] * len(table)):
            try:
                parsed = parse(value)
            except _Bad as exc:
                raise MMXError(f"row {i + FIRST_ROW}: {column} {_cell(value)} {exc}", path) from None
            if name == "key" and parsed is None:
                raise MMXError(f"row {i + FIRST_ROW}: {column} is empty", path)
            records[name].append(parsed)
    first: dict[str, int] = {}
    for i, key in enumerate(records["key"]):
        if key in first:
            raise MMXError(f"{key_column} {_cell(key)} appears twice in the metadata table (rows {first[key]} and "
                           f"{i + FIRST_ROW})", path)
        first[key] = i + FIRST_ROW
    columns_out = ("key", "title", "year", "split", "genres")
    out = pd.DataFrame({name: pd.Series(records[name], dtype=object) for name in columns_out})
    out["row"] = np.arange(len(out), dtype=np.int64) + FIRST_ROW
    out.attrs["path"] = str(path)
    return out


def match_metadata(items: Sequence[VideoItem], table: pd.DataFrame | None
                   ) -> tuple[list[dict[str, Any] | None], list[str]]:
    """The metadata row of each video (None: no row), and a warning per doubtful match.

    A row matches a video when its key equals the video's id, relative path, file name or file stem, or
    equals one of them ignoring case. The exact match comes first, in that order. Warnings: a video that
    several rows match (differently written keys), a row that matches several videos, rows that match no
    video.
    """
    if table is None:
        return [None] * len(items), []
    records = table.to_dict("records")
    exact = {str(r["key"]): j for j, r in enumerate(records)}
    folded: dict[str, list[int]] = {}
    for j, r in enumerate(records):
        folded.setdefault(str(r["key"]).casefold(), []).append(j)
    chosen: list[dict[str, Any] | None] = []
    warnings: list[str] = []
    videos_of: dict[int, list[str]] = {}
    for item in items:
        names = (item.id, item.relative, item.path.name, item.path.stem)
        order = [exact[k] for k in names if k in exact] + [j for k in names for j in folded.get(k.casefold(), [])]
        matched = list(dict.fromkeys(order))
        for j in matched:
            videos_of.setdefault(j, []).append(item.relative)
        if len(matched) > 1:
            warnings.append(f"video {escape_control(item.relative)!s} matches "
                            + ", ".join(f"row {records[j]['row']} ({_cell(records[j]['key'])})" for j in matched)
                            + f"; row {records[matched[0]]['row']} is used")
        chosen.append(records[matched[0]] if matched else None)
    for j, videos in videos_of.items():
        if len(videos) > 1:
            warnings.append(f"row {records[j]['row']} ({_cell(records[j]['key'])}) matches {len(videos)} videos: "
                            + ", ".join(escape_control(v) for v in videos[:3]) + (", ..." if len(videos) > 3 else ""))
    unmatched = [j for j in range(len(records)) if j not in videos_of]
    if unmatched and len(unmatched) == len(records):
        warnings.append(f"no metadata row matches any of the {len(items)} videos (keys such as "
                        f"{_cell(records[0]['key'])}; match ids, relative paths, file names or stems)")
    elif unmatched:
        warnings.append(f"{len(unmatched)} metadata row(s) match no video: " + ", ".join(
            f"row {records[j]['row']} ({_cell(records[j]['key'])})" for j in unmatched[:5])
            + (", ..." if len(unmatched) > 5 else ""))
    return chosen, warnings


def trailer_rows(items: Iterable[VideoItem], table: pd.DataFrame | None, *,
                 strict: bool = False) -> list[dict[str, Any]]:
    """One data set row per video (id, title, year, genres, split), metadata where it has a row.

    Matching as in :func:`match_metadata`; its warnings are logged, or with ``strict`` refused.

    Raises
    ------
    MMXError
        ``strict`` and a doubtful match (every warning in one line).
    """
    items = list(items)
    matches, warnings = match_metadata(items, table)
    where = None if table is None else table.attrs.get("path")
    if warnings and strict:
        raise MMXError("; ".join(warnings) + " (--strict refuses doubtful metadata matches)", where)
    for warning in warnings:
        log.warning("%s: %s", escape_control(where or "metadata"), warning)
    rows = []
    for item, meta in zip(items, matches):
        meta = meta or {}
        genres = list(meta.get("genres") or [])
        rows.append({"id": item.id, "title": str(meta.get("title") or item.path.stem),
                     "year": None if meta.get("year") is None else int(meta["year"]), "genres": genres or [UNLABELLED],
                     "split": str(meta.get("split") or split_of(item.id)), "labelled": bool(genres)})
    return rows


def genre_vocabulary(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every genre met, sorted (:data:`UNLABELLED` last, when some video has no genre)."""
    names = sorted({g for r in rows for g in r["genres"] if g != UNLABELLED})
    if any(UNLABELLED in r["genres"] for r in rows):
        names.append(UNLABELLED)
    return names
