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
    prefixes of the row's first cells; ``table`` (a prefix of the ``###``
    heading above the table) picks among several tables. ``after`` takes the
    first number that follows the quoted text. The first match wins.

Prose figure
    :func:`prose_figures` lists the numbers of a Markdown text that are neither
    in a generated block, nor in an include, nor covered by the rules of
    :func:`prose_figures` (code, years, versions, references, small counts,
    :data:`DEFINITIONS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError

__all__ = [
    "DEFINITIONS", "Figure", "Include", "block_markers", "check", "doc_files", "find_includes", "parse_blocks",
    "prose_figures", "refresh", "replace_block", "requirement_names", "resolve_includes", "select_value", "update_block", "upgrade_markers",
]

_NAME = r"[\w.-]+"
_BLOCK = re.compile(rf"<!-- BEGIN GENERATED: ({_NAME}) -->\n?(.*?)\n?<!-- END GENERATED: \1 -->", re.S)
_OLD_BENCH = re.compile(r"<!-- bench:(\w+) -->\n(.*?)(?=<!-- bench:|\Z)", re.S)
_INCLUDE = re.compile(r"<!-- include: (?P<ref>[^\s#]*#[\w.-]+)(?P<attrs>(?:\s+\w+=\"[^\"]*\")*)\s*-->"
                      r"(?P<value>.*?)<!-- /include -->", re.S)
_ATTR = re.compile(r"(\w+)=\"([^\"]*)\"")
_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:,\d{3})*(?:\.\d+)?")

# Numbers that define the task or the data rather than measure anything: the paper's
# set-up and the bundled data. Kept short; everything else measured goes through a block.
DEFINITIONS = (
    r"MMX-Trailer-20\b",                         # the data set's name
    r"\b20 (?:TMDB |coarse )?genres",            # the MMX-Trailer-20 vocabulary
    r"\b9 clips",                                # clips per sequence (paper)
    r"\b3 (?:planted )?sub-genres",             # sub-genres planted per genre by the generator
    r"\b60 (?:planted )?sub-genres",            # 20 x 3
    r"\b7,594\b",                                # trailers in the authors' published set
    r"\b(?:2048|1024|512|256|128)(?:-d\b| x |-dimensional|(?=/))",  # feature / embedding widths
    r"/(?:2048|512|128)\b",                      # "2048/2048/512/128"
    r"(?:image|scene|motion|audio)`? \(?(?:2048|512|128)\b",  # an expert's width
    r"\b70/10/20\b",                             # the split fractions
)


@dataclass(frozen=True)
class Include:
    """One include of a text: its reference, selectors, current value and position."""

    ref: str
    attrs: dict
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Figure:
    """A number in prose with no source: line number, the number and its line."""

    line: int
    number: str
    context: str


def block_markers(name: str) -> tuple[str, str]:
    """The begin and end markers of the generated block ``name``."""
    if not re.fullmatch(_NAME, name):
        raise MMXError(f"block name {name!r}: use letters, digits, '-', '_' or '.' only")
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def upgrade_markers(text: str) -> str:
    """Rewrite the old ``<!-- bench:NAME -->`` sections into generated blocks (contents kept)."""
    first = _OLD_BENCH.search(text)
    if first is None:
        return text
    out = [text[:first.start()]]
    for match in _OLD_BENCH.finditer(text):
        begin, end = block_markers(match.group(1))
        out.append(f"{begin}\n{match.group(2).rstrip()}\n{end}\n\n")
    return "".join(out).rstrip() + "\n"


def parse_blocks(text: str) -> dict[str, str]:
    """``{name: contents}`` of every generated block of ``text`` (old bench markers read too)."""
    return {m.group(1): m.group(2) for m in _BLOCK.finditer(upgrade_markers(text))}


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


_FENCE = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"`(?:[^`\n]|\n(?!\s*\n))*`")


def _code_spans(text: str) -> list[tuple[int, int]]:
    fences = [m.span() for m in _FENCE.finditer(text)]
    inline = [m.span() for m in _CODE.finditer(_FENCE.sub(_blank, text))]
    return fences + inline


def find_includes(text: str) -> list[Include]:
    """Every include of ``text``, in order (an include shown as code is not one)."""
    code = _code_spans(text)
    return [Include(m.group("ref"), dict(_ATTR.findall(m.group("attrs"))), m.group("value"), m.start(), m.end())
            for m in _INCLUDE.finditer(text) if not any(a <= m.start() < b for a, b in code)]


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
        match = _NUMBER.search(block, at + len(attrs["after"])) if at >= 0 else None
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
            if len(row) > col and all(i < len(row) and row[i].startswith(p) for i, p in enumerate(prefixes)):
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


def _blank(match: re.Match) -> str:
    """The matched text with everything but newlines blanked (line numbers survive)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _is_exempt(line: str, start: int, end: int, number: str, versions: re.Pattern) -> bool:
    before, after = line[:start], line[end:]
    plain = number.lstrip("+-−").replace(",", "")
    if re.fullmatch(r"(19|20)\d\d", plain):                              # a year
        return True
    if re.search(r"(?:Table|Tables|Fig\.|Figure|Section|Eq\.|issue|round|§|step|seed|seeds)\s*$", before):
        return True                                                   # a reference
    if re.search(r"\d+(?:\.\d+)*\s*[-–,/&]\s*$|\d\s+(?:and|or)\s+$", before) and re.search(
            r"(?:Table|Tables|Fig\.|Figure|Section|issue)\s+\d+(?:\.\d+)*\s*[-–,/&]\s*$"
            r"|(?:Table|Tables|Fig\.|Figure|Section|issue)\s+\d+\s+(?:and|or)\s+$", before):
        return True                                                   # "Tables 2 and 3", "Fig. 3-4"
    if re.search(r"[A-Za-z]-$", before):                               # a name: "PCA-50", "UMAP-10"
        return True
    if before.endswith("@"):                                            # a metric's k: "precision@10"
        return True
    if versions.search(before):                                        # "torch 2.13", "Python 3.11"
        return True
    if re.fullmatch(r"\d", plain) and not after.startswith((".", "%", "x", "×")):
        return True                                                   # a small count: "2 cores", "one of 4"
    if re.fullmatch(r"\d+", plain) and re.match(r"\s*$", before) and after.startswith(". "):
        return True                                                   # an ordered list item
    return False


def prose_figures(text: str, packages: Iterable[str] = ()) -> list[Figure]:
    """Numbers of Markdown ``text`` that no generated block, include or rule accounts for.

    Not figures: generated blocks and includes (sourced); code fences and backticks
    (commands, parameters, identifiers); link targets, HTML comments and headings'
    anchors; years; references ("Table 2", "Fig. 3", "issue 10", "step 1"); versions
    after a package name of ``packages`` or "Python"; single digits without a
    decimal point, ``%`` or ``x`` (counts written as digits); ordered-list numbers;
    and the :data:`DEFINITIONS` of the task and the data.
    """
    names = sorted({re.escape(p) for p in packages} | {"Python", "CUDA"}, key=len, reverse=True)
    versions = re.compile(r"(?:^|[\s(])(?:" + "|".join(names) + r")[ =v]*$", re.I)
    text = upgrade_markers(text)
    scrubbed = _BLOCK.sub(_blank, text)
    for inc in find_includes(scrubbed):
        scrubbed = scrubbed[:inc.start] + _blank(re.match(r".*", scrubbed[inc.start:inc.end], re.S)) + scrubbed[inc.end:]
    for pattern in (_FENCE, _CODE, re.compile(r"<!--.*?-->", re.S), re.compile(r"\]\([^)\s]*\)"), re.compile(r"https?://\S+")):
        scrubbed = pattern.sub(_blank, scrubbed)
    for pattern in DEFINITIONS:
        scrubbed = re.sub(pattern, _blank, scrubbed)
    found = []
    for number, line in enumerate(scrubbed.splitlines(), 1):
        for match in _NUMBER.finditer(line):
            if not _is_exempt(line, match.start(), match.end(), match.group(0), versions):
                found.append(Figure(number, match.group(0), text.splitlines()[number - 1].strip()[:160]))
    return found


def requirement_names(root: Path) -> list[str]:
    """Package names pinned in ``root/requirements.txt`` (their versions are not figures)."""
    path = root / "requirements.txt"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [re.split(r"[\s=<>~!\[;]", line.strip(), maxsplit=1)[0] for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


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
