"""Docs that cannot go stale: generated blocks, includes that quote them, and a check.

Generated block
    Text written by the code that measured it, between two markers::

        <!-- BEGIN GENERATED: NAME -->
        ...
        <!-- END GENERATED: NAME -->

    ``NAME`` is unique within its file (letters, digits, ``-``, ``_``, ``.``).
    :func:`update_block` replaces one block and keeps everything around it.
    Nobody edits a block's contents by hand.

Include
    Prose elsewhere quotes one figure of a block; the docs build
    (``python -m mmx_core docs``) rewrites the text between the two markers::

        <!-- include: benchmarks.md#explore row="pipeline cold: map" col="speed ratio (wall)" -->4.33<!-- /include -->
        <!-- include: results.md#subgenre-heldout-7777 after="Fine minus coarse precision@10:" -->+0.094<!-- /include -->

    The path is relative to the including file. ``row``/``col`` select a table
    cell: ``col`` is a column header, ``row`` one or more ``|``-separated
    prefixes of the row's first cells (``*`` inside a prefix stands for any text); ``table`` (a prefix of the ``###``
    heading above the table) picks among several tables. ``after`` takes the
    first number that follows the quoted text. The first match wins.

Prose figure
    :func:`prose_figures` lists the numbers of a Markdown text that are neither
    in a generated block, nor in an include, nor covered by the rules of
    :func:`prose_figures` (code, years, versions, references, small counts,
    :data:`DEFINITIONS`).

The markers' syntax lives in :mod:`mmx_core.base.doc_syntax` and the prose rules in
:mod:`mmx_core.base.prose_figures`; this module edits blocks, resolves includes and checks
the docs (its names are the docs build's one entry point).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Callable, Iterable

from mmx_core.base.artefacts import atomic_write
from mmx_core.base.doc_syntax import BLOCK, NUMBER, Include, block_markers, find_includes, upgrade_markers
from mmx_core.base.errors import MMXError
from mmx_core.base.prose_figures import DEFINITIONS, Figure, prose_figures, requirement_names

__all__ = [
    "DEFINITIONS", "Figure", "Include", "block_markers", "check", "doc_files", "find_includes", "parse_blocks",
    "prose_figures", "refresh", "replace_block", "requirement_names", "resolve_includes", "select_value", "update_block", "upgrade_markers",
]


def parse_blocks(text: str) -> dict[str, str]:
    """``{name: contents}`` of every generated block of ``text`` (old bench markers read too)."""
    return {m.group(1): m.group(2) for m in BLOCK.finditer(upgrade_markers(text))}


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the block ``name`` replaced by ``content`` (appended when absent)."""
    text = upgrade_markers(text)
    begin, end = block_markers(name)
    block = f"{begin}\n{content.strip()}\n{end}"
    if begin not in text:
        return text.rstrip() + "\n\n" + block + "\n"
    start = text.index(begin)
    stop = text.find(end, start)
    if stop < 0:
        raise MMXError(f"found '{begin}' without '{end}'; restore the end marker or delete the block")
    return text[:start] + block + text[stop + len(end):]


def update_block(path: str | Path, name: str, content: str, default_text: str = "") -> Path:
    """Replace (or append) the generated block ``name`` of the Markdown file ``path``.

    A missing file starts from ``default_text``. Everything outside the block is kept.
    """
    path = Path(path)
    text = path.read_text() if path.exists() else default_text
    try:
        text = replace_block(text, name, content)
    except MMXError as exc:
        raise MMXError(f"{path}: {exc}") from None
    with atomic_write(path, "w") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "").strip("*").strip() for c in line.strip().strip("|").split("|")]


def _tables(block: str) -> Iterable[tuple[str, list[str], list[list[str]]]]:
    """(heading, header cells, rows) of every Markdown table of ``block``."""
    heading, lines = "", block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip()):
            header, rows, i = _cells(line), [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            yield heading, header, rows
            continue
        i += 1


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


def resolve_includes(text: str, here: Path, blocks_of: Callable[[Path], dict[str, str]] | None = None) -> str:
    """``text`` (a file in folder ``here``) with every include's value read from its block."""
    blocks_of = blocks_of or (lambda p: parse_blocks(p.read_text()))
    out, last = [], 0
    for inc in find_includes(text):
        file, name = inc.ref.split("#", 1)
        source = (here / file).resolve() if file else None
        try:
            if source is None or not source.is_file():
                raise MMXError(f"file {file!r} not found")
            blocks = blocks_of(source)
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


def refresh(path: Path) -> str:
    """The text of ``path`` with old markers upgraded and every include resolved."""
    return resolve_includes(upgrade_markers(path.read_text()), path.parent)


def check(root: Path) -> list[str]:
    """One line per problem of the docs under ``root``: a stale file or a figure without a source."""
    problems, packages = [], requirement_names(root)
    for path in doc_files(root):
        name = path.relative_to(root)
        try:
            if refresh(path) != path.read_text():
                problems.append(f"{name}: stale; run `python -m mmx_core docs`")
        except MMXError as exc:
            problems.append(f"{name}: {exc}")
        for fig in prose_figures(path.read_text(), packages):
            problems.append(f"{name}:{fig.line}: figure {fig.number} has no source: {fig.context}")
    return problems


def doc_files(root: Path) -> list[Path]:
    """The Markdown files whose figures must have a source: README, docs/*.md, models/README.md."""
    files = [root / "README.md", *sorted((root / "docs").glob("*.md")), root / "models" / "README.md"]
    return [f for f in files if f.is_file()]
