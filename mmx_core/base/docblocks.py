"""Generated blocks of Markdown files: their markers, and reading or rewriting one block in place.

A generated block is text written by the code that measured it, between two markers::

    <!-- BEGIN GENERATED: NAME -->
    ...
    <!-- END GENERATED: NAME -->

``NAME`` is unique within its file (letters, digits, ``-``, ``_``, ``.``). :func:`update_block`
replaces one block and keeps everything around it; nobody edits a block's contents by hand.
Every writer of a block (benchmarks, studies, the docs build) uses this module; includes that
quote a block and the docs check live in :mod:`mmx_core.docs`.
"""

from __future__ import annotations

import re
from pathlib import Path

from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError

__all__ = ["BLOCK", "block_markers", "parse_blocks", "replace_block", "update_block"]

NAME = r"[\w.-]+"
BLOCK = re.compile(rf"<!-- BEGIN GENERATED: ({NAME}) -->\n?(.*?)\n?<!-- END GENERATED: \1 -->", re.S)


def block_markers(name: str) -> tuple[str, str]:
    """The begin and end markers of the generated block ``name``."""
    if not re.fullmatch(NAME, name):
        raise MMXError(f"block name {name!r}: use letters, digits, '-', '_' or '.' only")
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def parse_blocks(text: str) -> dict[str, str]:
    """``{name: contents}`` of every generated block of ``text``."""
    return {m.group(1): m.group(2) for m in BLOCK.finditer(text)}


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the block ``name`` replaced by ``content`` (appended when absent)."""
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
