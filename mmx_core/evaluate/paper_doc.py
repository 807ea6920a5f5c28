"""The paper's Tables 2 and 3 as a generated block, so prose can quote the paper's figures.

:func:`render_paper_block` reads the tables through :mod:`mmx_core.evaluate.paper`
(``docs/paper/table2.csv`` and ``table3.csv``); ``python -m mmx_core docs`` writes it
into ``docs/paper.md`` as the block ``paper-tables``. Quote a cell with an include, e.g.
``<!-- include: paper.md#paper-tables table="Table 2" row="MMX-Trailer-20" col="F1w" -->``.
"""

from __future__ import annotations

import math

from mmx_core.base.genres import TABLE2_COLUMNS
from mmx_core.evaluate.paper import SUMMARY_COLUMNS, load_table2, load_table3

__all__ = ["BLOCK", "DOC", "render_paper_block"]

DOC = "docs/paper.md"
BLOCK = "paper-tables"


def _cell(value: float, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}g}"


def render_paper_block() -> str:
    """Markdown of Table 2 (support, summary metrics) and Table 3 (AU(PRC) of every method)."""
    table2 = load_table2()
    lines = ["### Table 2: summary metrics of each model (test set)", "",
             "| model | " + " | ".join(SUMMARY_COLUMNS) + " |", "| --- |" + " --- |" * len(SUMMARY_COLUMNS)]
    for name, row in table2.rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(getattr(row, a)) for a in SUMMARY_COLUMNS.values()) + " |")
    printed = {genre: abbreviation for abbreviation, genre in TABLE2_COLUMNS.items()}
    lines += ["", "### Table 2: test-set support per genre", "",
              "The header's Western and Thriller labels are swapped back (`mmx_core.base.genres.TABLE2_COLUMNS`).",
              "", "| genre | printed column | support |", "| --- | --- | --- |"]
    lines += [f"| {genre} | {printed[genre]} | {count} |" for genre, count in table2.support.items()]
    lines += ["", "### Table 3: AU(PRC) of each method", "",
              "| method | AU(PRC) micro | AU(PRC) macro | AU(PRC)w |", "| --- | --- | --- | --- |"]
    lines += [f"| {row.name} | {_cell(row.auprc_micro)} | {_cell(row.auprc_macro)} | {_cell(row.auprc_weighted)} |"
              for row in load_table3()]
    return "\n".join(lines)
