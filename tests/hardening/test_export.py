"""CSV downloads open in a spreadsheet as data, never as formulas (issue 12, item 6)."""

import csv
import io

import pandas as pd
import pytest

from mmx_core.base.sheets import spreadsheet_safe_csv


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("title", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_like_text_gets_an_apostrophe(title):
    rows = cells(spreadsheet_safe_csv(pd.DataFrame({"title": [title], "year": [1999]})))
    assert rows[1] == ["'" + title, "1999"]


def test_plain_text_numbers_and_negative_numbers_are_unchanged():
    frame = pd.DataFrame({"title": ["Alien", "Se7en"], "x": [-1.5, 2.0], "genres": [["Horror"], ["Crime", "Drama"]]})
    rows = cells(spreadsheet_safe_csv(frame))
    assert rows[1] == ["Alien", "-1.5", "Horror"]
    assert rows[2] == ["Se7en", "2.0", "Crime, Drama"]


def test_a_formula_like_column_name_is_neutralised_too():
    rows = cells(spreadsheet_safe_csv(pd.DataFrame({"=cmd": ["a"]})))
    assert rows[0] == ["'=cmd"]
