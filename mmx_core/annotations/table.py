"""The annotations CSV: one row per trailer and tag, how annotations travel between machines and into papers.

Columns (:data:`COLUMNS`): ``id`` (trailer), ``tag`` (a free tag, or the name of a named sub-genre),
``kind`` (:data:`KINDS`: ``tag``, ``subgenre`` or ``note``), ``note`` (the trailer's note on a ``note`` row,
the sub-genre's note on a ``subgenre`` row), ``colour`` (a sub-genre's ``#rrggbb``) and ``title`` (for
people; never read back). A file with only ``id,tag`` reads as free tags: what ``train --tags`` takes.

Written spreadsheet-safe (:mod:`mmx_core.base.sheets`) and read back with the escaping undone. Reading is
strict about the file (a regular UTF-8 CSV under :data:`MAX_BYTES` with ``id`` and ``tag`` columns, else an
:class:`MMXError` and nothing is read) and lenient about rows: a bad row is reported with its line number
(:class:`TableRead.problems`) and left out; the caller decides whether that refuses the whole file.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import regular_file
from mmx_core.base.sheets import spreadsheet_safe_csv, unescape_cell

__all__ = ["COLUMNS", "KINDS", "MAX_BYTES", "MAX_ROWS", "LIMITS", "Row", "TableRead", "read_table", "parse_table",
           "table_bytes", "usable_rows", "read_tags", "parse_tags", "table_text", "check_name", "check_note",
           "check_colour", "HEADER"]

COLUMNS = ("id", "tag", "kind", "note", "colour", "title")
HEADER = ",".join(f'"{c}"' for c in COLUMNS)
"""The first line of a written file: what the output contract takes as written by the project
(:data:`mmx_core.base.outputs.ANNOTATIONS_HEADER`, checked equal by the tests)."""
KINDS = ("tag", "subgenre", "note")
MAX_BYTES = 64 * 1024 ** 2
MAX_ROWS = 1_000_000
LIMITS = {"id": 200, "tag": 100, "note": 2000}
"""Longest text (characters) of a trailer id, a tag or sub-genre name, and a note."""
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Row:
    """One line of the file: ``kind`` is one of :data:`KINDS`; ``tag`` is empty on a note row."""

    id: str
    tag: str
    kind: str = "tag"
    note: str = ""
    colour: str = ""


@dataclass
class TableRead:
    """What :func:`read_table` found: the good rows, and ``(line, problem)`` for each row left out."""

    rows: list[Row] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _plain(text: str, what: str, limit: int, multiline: bool = False) -> str:
    """``text`` checked: no control characters (newlines allowed when ``multiline``), at most ``limit`` long."""
    allowed = "\n\t" if multiline else ""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") and c not in allowed for c in text):
        raise MMXError(f"the {what} holds control characters")
    if len(text) > limit:
        raise MMXError(f"the {what} is {len(text)} characters long (at most {limit})")
    return text


def check_name(text: str, what: str = "name") -> str:
    """A tag or sub-genre name, trimmed: non-empty, one line, at most ``LIMITS['tag']`` characters."""
    text = _plain(_clean(str(text)), what, LIMITS["tag"])
    if not text:
        raise MMXError(f"the {what} is empty")
    return text


def check_note(text: str) -> str:
    """A note, trimmed: at most ``LIMITS['note']`` characters, newlines allowed."""
    return _plain(_clean(str(text)), "note", LIMITS["note"], multiline=True)


def check_colour(text: str) -> str:
    """A colour ``#rrggbb`` (lower case), or empty."""
    text = _clean(str(text)).lower()
    if text and not _COLOUR.fullmatch(text):
        raise MMXError(f"the colour {text[:20]!r} is not #rrggbb")
    return text


def _row(cells: dict) -> Row:
    trailer = _plain(_clean(cells.get("id", "")), "id", LIMITS["id"])
    if not trailer:
        raise MMXError("the id is empty")
    kind = _clean(cells.get("kind", "")).lower() or "tag"
    if kind not in KINDS:
        raise MMXError(f"kind {kind[:20]!r} is not one of {', '.join(KINDS)}")
    note = check_note(cells.get("note", ""))
    if kind == "note":
        return Row(trailer, "", "note", note)
    return Row(trailer, check_name(cells.get("tag", ""), "tag"), kind, note if kind == "subgenre" else "",
               check_colour(cells.get("colour", "")) if kind == "subgenre" else "")


def table_bytes(path: str | Path) -> bytes:
    """The bytes of the annotations file at ``path``: a regular file of at most :data:`MAX_BYTES`, read once (a
    caller that also hashes them hashes what it parsed)."""
    path = regular_file(path, "annotations file")
    if path.stat().st_size > MAX_BYTES:
        raise MMXError(f"annotations file is {path.stat().st_size:,} bytes, over the {MAX_BYTES:,} allowed", path)
    return path.read_bytes()


def read_table(path: str | Path) -> TableRead:
    """The rows of the annotations CSV at ``path`` (see :func:`parse_table`)."""
    return parse_table(table_bytes(path), path)


def parse_table(raw: bytes, source: str | Path) -> TableRead:
    """The rows of an annotations CSV's bytes ``raw`` (an upload, or a file's; ``source`` names it in errors).

    Raises
    ------
    MMXError
        Over :data:`MAX_BYTES` or :data:`MAX_ROWS`, not UTF-8 text, not CSV, or without ``id`` and ``tag``
        columns.
    """
    if len(raw) > MAX_BYTES:
        raise MMXError(f"annotations file is {len(raw):,} bytes, over the {MAX_BYTES:,} allowed", source)
    if b"\0" in raw:
        raise MMXError("annotations file holds NUL bytes: not a CSV text file", source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MMXError(f"annotations file is not UTF-8 text (byte {exc.start})", source) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [unescape_cell(_clean(h)).lower() for h in next(reader, [])]
        if not {"id", "tag"} <= set(header):
            raise MMXError(f"annotations file has columns {header[:8]}; it needs at least id and tag", source)
        found = TableRead()
        for cells in reader:
            if reader.line_num > MAX_ROWS + 1:
                raise MMXError(f"annotations file has more than {MAX_ROWS:,} rows", source)
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                found.problems.append((reader.line_num, f"{len(cells)} cells for {len(header)} columns"))
                continue
            try:
                found.rows.append(_row({h: unescape_cell(c) for h, c in zip(header, cells)}))
            except MMXError as exc:
                found.problems.append((reader.line_num, str(exc)))
    except csv.Error as exc:
        raise MMXError(f"annotations file is not valid CSV (line {reader.line_num}: {exc})", source) from None
    return found


def usable_rows(found: TableRead, known_ids, set_name: str) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows of ``found`` naming trailers of the set (``known_ids``), and every problem: the bad rows' and
    one per row naming a trailer the set ``set_name`` lacks (line 0: the rows were read whole)."""
    known = set(known_ids)
    rows = [row for row in found.rows if row.id in known]
    missing = [(0, f"trailer {row.id[:60]!r} is not in {set_name}") for row in found.rows if row.id not in known]
    return rows, list(found.problems) + missing


def read_tags(path: str | Path) -> dict[str, frozenset[str]]:
    """Trailer id -> its tags (free tags and named sub-genres) of an annotations CSV, for ``train --tags``
    (see :func:`parse_tags`)."""
    return parse_tags(table_bytes(path), path)


def parse_tags(raw: bytes, source: str | Path) -> dict[str, frozenset[str]]:
    """Trailer id -> its tags of an annotations CSV's bytes ``raw``.

    Stricter than :func:`parse_table`: any bad row refuses the whole file (an :class:`MMXError` naming the
    first one and how many), since a training run must not silently learn from part of what it was given.
    """
    found = parse_table(raw, source)
    if found.problems:
        line, problem = found.problems[0]
        raise MMXError(f"line {line}: {problem} ({len(found.problems)} bad rows in all); fix the file", Path(source))
    tags: dict[str, set[str]] = {}
    for row in found.rows:
        if row.kind != "note":
            tags.setdefault(row.id, set()).add(row.tag)
    return {trailer: frozenset(names) for trailer, names in tags.items()}


def table_text(rows: list[Row], titles: dict[str, str] | None = None) -> str:
    """The CSV text of ``rows`` (columns :data:`COLUMNS`, ``title`` from ``titles``), spreadsheet-safe."""
    titles = titles or {}
    frame = pd.DataFrame([(r.id, r.tag, r.kind, r.note, r.colour, titles.get(r.id, "")) for r in rows],
                         columns=list(COLUMNS), dtype=object)
    return spreadsheet_safe_csv(frame)
