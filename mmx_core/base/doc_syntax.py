"""The syntax of the project's docs: generated-block and include markers, code spans and numbers.

Read by :mod:`mmx_core.base.docblocks` (blocks and includes) and :mod:`mmx_core.base.prose_figures`
(numbers without a source); the module docstring of ``docblocks`` describes the markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmx_core.base.errors import MMXError

__all__ = ["NAME", "BLOCK", "OLD_BENCH", "INCLUDE", "ATTR", "NUMBER", "FENCE", "CODE", "Include", "blank",
           "block_markers", "code_spans", "find_includes", "upgrade_markers"]

NAME = r"[\w.-]+"
BLOCK = re.compile(rf"<!-- BEGIN GENERATED: ({NAME}) -->\n?(.*?)\n?<!-- END GENERATED: \1 -->", re.S)
OLD_BENCH = re.compile(r"<!-- bench:(\w+) -->\n(.*?)(?=<!-- bench:|\Z)", re.S)
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


def block_markers(name: str) -> tuple[str, str]:
    """The begin and end markers of the generated block ``name``."""
    if not re.fullmatch(NAME, name):
        raise MMXError(f"block name {name!r}: use letters, digits, '-', '_' or '.' only")
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def upgrade_markers(text: str) -> str:
    """Rewrite the old ``<!-- bench:NAME -->`` sections into generated blocks (contents kept)."""
    first = OLD_BENCH.search(text)
    if first is None:
        return text
    out = [text[:first.start()]]
    for match in OLD_BENCH.finditer(text):
        begin, end = block_markers(match.group(1))
        out.append(f"{begin}\n{match.group(2).rstrip()}\n{end}\n\n")
    return "".join(out).rstrip() + "\n"


def blank(match: re.Match) -> str:
    """The matched text with everything but newlines blanked (line numbers survive)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def code_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every code fence and inline code span of ``text``."""
    fences = [m.span() for m in FENCE.finditer(text)]
    inline = [m.span() for m in CODE.finditer(FENCE.sub(blank, text))]
    return fences + inline


def find_includes(text: str) -> list[Include]:
    """Every include of ``text``, in order (an include shown as code is not one)."""
    code = code_spans(text)
    return [Include(m.group("ref"), dict(ATTR.findall(m.group("attrs"))), m.group("value"), m.start(), m.end())
            for m in INCLUDE.finditer(text) if not any(a <= m.start() < b for a, b in code)]


