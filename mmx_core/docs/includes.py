"""Includes: prose that quotes one figure of a generated block, resolved by the docs build.

The docs build (``python -m mmx_core docs``) rewrites the text between the two markers::

    <!-- include: benchmarks.md#explore row="pipeline cold: map" col="speed ratio (wall)" -->4.33<!-- /include -->
    <!-- include: results.md#subgenre-heldout-7777 after="Fine minus coarse precision@10:" -->+0.094<!-- /include -->

The path is relative to the including file. ``row``/``col`` select a table cell: ``col`` is a column
header, ``row`` one or more ``|``-separated prefixes of the row's first cells (``*`` inside a prefix
stands for any text); ``table`` (a prefix of the ``###`` heading above the table) picks among several
tables. ``after`` takes the first number that follows the quoted text. The first match wins. An
include shown as code (in backticks or a fence) is not one.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from mmx_core.base.docblocks import parse_blocks
from mmx_core.base.errors import MMXError

__all__ = ["CODE", "FENCE", "NUMBER", "Include", "blank", "find_includes", "markdown_table", "refresh", "select_value"]

INCLUDE = re.compile(r"<!-- include: (?P<ref>[^\s#]*#[\w.-]+)(?P<attrs>(?:\s+\w+=\"[^\"]*\")*)\s*-->"
                     r"(?P<value>.*?)<!-- /include -->", re.S)
ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:,\d{3})*(?:\.\d+)?")
FENCE = re.compile(r"```.*?```", re.S)
CODE = re.compile(r"`(?:[^`\n]|\n(?!\s*\n))*`")


@dataclass(frozen=True)
class Include:
    """One include of a text: its reference, selectors, current value and position."""

    ref: str
    attrs: dict
    value: str
    start: int
    end: int


def blank(match: re.Match) -> str:
    """The matched text with everything but newlines blanked (line numbers survive)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def find_includes(text: str) -> list[Include]:
    """Every include of ``text``, in order (an include shown as code is not one)."""
    code = [m.span() for m in FENCE.finditer(text)] + [m.span() for m in CODE.finditer(FENCE.sub(blank, text))]
    return [Include(m.group("ref"), dict(ATTR.findall(m.group("attrs"))), m.group("value"), m.start(), m.end())
            for m in INCLUDE.finditer(text) if not any(a <= m.start() < b for a, b in code)]


def markdown_table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    """The lines of a Markdown table: the header, its rule and one line per row."""
    header = list(header)
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)]


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "").strip("*").strip() for c in line.strip().strip("|").split("|")]


def _tables(block: str) -> Iterable[tuple[str, list[str], list[list[str]]]]:
    """(heading, header cells, rows) of every Markdown table of ``block``."""
    heading, lines, skip = "", block.splitlines(), 0
    for i, line in enumerate(lines):
        if i < skip:  # the rule and rows of the table just read
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip()):
            rows = list(itertools.takewhile(lambda row: row.startswith("|"), lines[i + 2:]))
            skip = i + 2 + len(rows)
            yield heading, _cells(line), [_cells(row) for row in rows]


def select_value(block: str, attrs: dict) -> str:
    """The figure of ``block`` that the include selectors ``attrs`` name."""
    if "after" in attrs:
        at = block.find(attrs["after"])
        match = NUMBER.search(block, at + len(attrs["after"])) if at >= 0 else None
        if match is None:
            raise MMXError(f"no number after {attrs['after']!r}")
        return match.group(0)
    if "row" not in attrs or "col" not in attrs:
        raise MMXError(f"selectors {attrs}: give after=\"TEXT\", or row=\"LABEL\" and col=\"HEADER\"")
    prefixes = [p.strip() for p in attrs["row"].split("|")]
    for heading, header, rows in _tables(block):
        if not heading.startswith(attrs.get("table", "")) or attrs["col"] not in header:
            continue
        col = header.index(attrs["col"])
        for row in rows:
            if len(row) > col and all(i < len(row) and fnmatch.fnmatchcase(row[i], p + "*")
                                      for i, p in enumerate(prefixes)):
                return row[col]
    raise MMXError(f"no table cell with row {attrs['row']!r} and column {attrs['col']!r}")


def refresh(path: Path) -> str:
    """The text of ``path`` with every include's value read from the block it quotes."""
    text, out, last = path.read_text(), [], 0
    for inc in find_includes(text):
        file, name = inc.ref.split("#", 1)
        source = (path.parent / file).resolve() if file else None
        try:
            if source is None or not source.is_file():
                raise MMXError(f"file {file!r} not found")
            blocks = parse_blocks(source.read_text())
            if name not in blocks:
                raise MMXError(f"no generated block {name!r}")
            value = select_value(blocks[name], inc.attrs)
        except MMXError as exc:
            raise MMXError(f"include {inc.ref} {inc.attrs}: {exc}; fix the include or its block") from None
        head = text[inc.start:inc.end]
        out += [text[last:inc.start], head[:head.index("-->") + 3], value, "<!-- /include -->"]
        last = inc.end
    out.append(text[last:])
    return "".join(out)
