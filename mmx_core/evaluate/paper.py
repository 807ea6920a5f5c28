"""The paper's Tables 2 and 3 as data, to print beside our numbers.

``docs/paper/table2.csv`` keeps Table 2's columns as printed (abbreviated genre
names, Western and Thriller swapped in the header); :func:`load_table2` maps the
abbreviations to genres through :data:`mmx_core.trailers.genres.TABLE2_COLUMNS`, which
undoes the swap.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from mmx_core.base.errors import MMXError
from mmx_core.trailers.genres import TABLE2_COLUMNS
from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.evaluate.report import SUMMARY_KEYS

__all__ = ["PaperRow", "PaperTable2", "load_table2", "load_table3", "PAPER_DIR", "SUMMARY_COLUMNS"]

PAPER_DIR = PROJECT_ROOT / "docs" / "paper"

SUMMARY_COLUMNS: dict[str, str] = {title: key for key, title in SUMMARY_KEYS[:4]}
"""Table 2's summary columns (F1w, AU(PRC)w, Pw, Rw) -> GenreReport attribute."""


@dataclass
class PaperRow:
    """One model row of Table 2 (or Table 3): per-genre F1 and summary metrics.

    Metrics the paper does not print are NaN.
    """

    name: str
    per_genre_f1: dict[str, float] = field(default_factory=dict)
    f1_weighted: float = math.nan
    auprc_weighted: float = math.nan
    precision_weighted: float = math.nan
    recall_weighted: float = math.nan
    auprc_micro: float = math.nan
    auprc_macro: float = math.nan


@dataclass
class PaperTable2:
    """Table 2: the test-set support per genre and one :class:`PaperRow` per model."""

    support: dict[str, int]
    rows: dict[str, PaperRow]


def _number(text: str, path: Path) -> float:
    text = text.strip()
    if text in ("", "-"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise MMXError(f"expected a number, got {text!r}", path) from None


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise MMXError("paper table not found (expected in docs/paper/)", path) from None


def load_table2(path: str | Path | None = None) -> PaperTable2:
    """Read Table 2 (per-genre F1, F1w, AU(PRC)w, Pw, Rw) with genre names restored.

    Table 3's micro and macro AU(PRC) of the proposed model are attached to the
    ``MMX-Trailer-20`` row.
    """
    path = Path(path) if path is not None else PAPER_DIR / "table2.csv"
    records = _read_csv(path)
    if not records or "Model" not in records[0]:
        raise MMXError("expected a 'Model' column and a 'Support' row", path)
    unknown = [c for c in records[0] if c != "Model" and c not in TABLE2_COLUMNS and c not in SUMMARY_COLUMNS]
    if unknown:
        raise MMXError(f"unknown columns {unknown}", path)
    support: dict[str, int] = {}
    rows: dict[str, PaperRow] = {}
    for record in records:
        name = record["Model"].strip()
        per_genre = {TABLE2_COLUMNS[c]: _number(record[c], path) for c in record if c in TABLE2_COLUMNS}
        if name == "Support":
            support = {genre: int(value) for genre, value in per_genre.items()}
            continue
        rows[name] = PaperRow(name, per_genre, **{attribute: _number(record.get(column, ""), path)
                                                  for column, attribute in SUMMARY_COLUMNS.items()})
    if not support:
        raise MMXError("no 'Support' row", path)
    table3_path = path.with_name("table3.csv")
    table3 = {row.name: row for row in load_table3(table3_path)} if table3_path.exists() else {}
    proposed = table3.get("Proposed MMX-Trailer-20")
    if proposed is not None and "MMX-Trailer-20" in rows:
        rows["MMX-Trailer-20"].auprc_micro = proposed.auprc_micro
        rows["MMX-Trailer-20"].auprc_macro = proposed.auprc_macro
    return PaperTable2(support=support, rows=rows)


def load_table3(path: str | Path | None = None) -> list[PaperRow]:
    """Read Table 3 (AU(PRC) micro, macro and weighted of several methods)."""
    path = Path(path) if path is not None else PAPER_DIR / "table3.csv"
    try:
        return [PaperRow(name=record["method"].strip(), **{key: _number(record[key], path) for key in
                                                           ("auprc_micro", "auprc_macro", "auprc_weighted")})
                for record in _read_csv(path)]
    except KeyError as exc:
        raise MMXError(f"missing column {exc}", path) from None
