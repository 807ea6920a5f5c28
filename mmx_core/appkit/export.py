"""Tables the app lets people download.

:func:`spreadsheet_safe_csv` writes CSV that a spreadsheet program opens as data: a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read as a formula (formula injection),
so such a cell gets a leading apostrophe, which spreadsheets show as text and do not evaluate. Numbers are
written as numbers (a negative number is not text and is left alone).
"""

from __future__ import annotations

import csv

import pandas as pd

__all__ = ["FORMULA_STARTS", "spreadsheet_safe_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, (list, tuple)):
        return _safe(", ".join(map(str, value)))
    return value


def spreadsheet_safe_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index) with every formula-like text cell neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_safe)
    safe.columns = [_safe(str(c)) for c in safe.columns]
    return safe.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)  # quoted text keeps CR and LF inside cells
