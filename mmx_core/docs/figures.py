"""Numbers in prose without a source: what counts as a measured figure, and what does not.

A figure in README.md or docs/ must sit in a generated block (:mod:`mmx_core.base.docblocks`) or an
include (:mod:`mmx_core.docs.includes`); :func:`prose_figures` lists the others, after the rules for
code, years, versions, references, small counts and :data:`DEFINITIONS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from mmx_core.base.docblocks import BLOCK
from mmx_core.docs.includes import CODE, FENCE, NUMBER, blank, find_includes

__all__ = ["DEFINITIONS", "Figure", "prose_figures", "requirement_names"]

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
class Figure:
    """A number in prose with no source: line number, the number and its line."""

    line: int
    number: str
    context: str


def _is_exempt(line: str, start: int, end: int, number: str, versions: re.Pattern) -> bool:
    before, after = line[:start], line[end:]
    plain = number.lstrip("+-−").replace(",", "")
    return bool(
        re.fullmatch(r"(19|20)\d\d", plain)                                              # a year
        or re.search(r"(?:Table|Tables|Fig\.|Figure|Section|Eq\.|issue|round|§|step|seed|seeds)\s*$", before)  # reference
        or (re.search(r"\d+(?:\.\d+)*\s*[-–,/&]\s*$|\d\s+(?:and|or)\s+$", before) and re.search(  # "Tables 2 and 3"
            r"(?:Table|Tables|Fig\.|Figure|Section|issue)\s+\d+(?:\.\d+)*\s*[-–,/&]\s*$"
            r"|(?:Table|Tables|Fig\.|Figure|Section|issue)\s+\d+\s+(?:and|or)\s+$", before))
        or re.search(r"[A-Za-z]-$", before)                                               # a name: "PCA-50"
        or before.endswith("@")                                                           # a metric's k: "precision@10"
        or versions.search(before)                                                        # "torch 2.13", "Python 3.11"
        or (re.fullmatch(r"\d", plain) and not after.startswith((".", "%", "x", "×")))     # a small count: "2 cores"
        or (re.fullmatch(r"\d+", plain) and re.match(r"\s*$", before) and after.startswith(". ")))  # list item


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
    scrubbed = BLOCK.sub(blank, text)
    for inc in find_includes(scrubbed):
        scrubbed = scrubbed[:inc.start] + blank(re.match(r".*", scrubbed[inc.start:inc.end], re.S)) + scrubbed[inc.end:]
    for pattern in (FENCE, CODE, re.compile(r"<!--.*?-->", re.S), re.compile(r"\]\([^)\s]*\)"), re.compile(r"https?://\S+")):
        scrubbed = pattern.sub(blank, scrubbed)
    for pattern in DEFINITIONS:
        scrubbed = re.sub(pattern, blank, scrubbed)
    found = []
    for number, line in enumerate(scrubbed.splitlines(), 1):
        for match in NUMBER.finditer(line):
            if not _is_exempt(line, match.start(), match.end(), match.group(0), versions):
                found.append(Figure(number, match.group(0), text.splitlines()[number - 1].strip()[:160]))
    return found


def requirement_names(root: Path) -> list[str]:
    """Package names pinned in ``root/requirements.txt`` (their versions are not figures)."""
    path = root / "requirements.txt"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [re.split(r"[\s=<>~!\[;]", line.strip(), maxsplit=1)[0] for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


