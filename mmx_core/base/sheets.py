"""Spreadsheet-safe CSV: tables people download and annotation files, written so a spreadsheet opens them as data.

:func:`spreadsheet_safe_csv` writes CSV that a spreadsheet program opens as data: a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read as a formula (formula injection),
so such a cell gets a leading apostrophe, which spreadsheets show as text and do not evaluate. Numbers are
written as numbers (a negative number is not text and is left alone).
"""

from __future__ import annotations

import csv

import pandas as pd

__all__ = ["FORMULA_STARTS", "safe_cell", "spreadsheet_safe_csv", "unescape_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` as a spreadsheet shows it as data: formula-like text gets a leading apostrophe, a list is
    joined with ``", "``; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, (list, tuple)):
        return safe_cell(", ".join(map(str, value)))
    return value


def spreadsheet_safe_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index) with every formula-like text cell neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    return safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)  # quoted text keeps CR and LF inside cells


def unescape_cell(text: str) -> str:
    """A cell read back from a file :func:`safe_cell` wrote: the apostrophe it put before a formula-like
    start is removed (any other text is returned unchanged)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
