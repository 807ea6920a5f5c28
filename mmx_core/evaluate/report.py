"""Reports in the shape of the paper's Table 2, as text, Markdown and JSON.

A report row is a name and a :class:`~mmx_core.trailers.metrics.GenreReport`.
The text form prints per-genre F1 with the support of each genre, then the
summary metrics (F1w, AU(PRC)w, Pw, Rw, AU(PRC) micro and macro). Genres
without positives show their support of 0 and ``-`` for F1 and AU(PRC): they
are listed, never dropped.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from mmx_core.base.errors import escape_control
from mmx_core.trailers.genres import TABLE2_COLUMNS
from mmx_core.trailers.metrics import GenreReport

__all__ = ["SUMMARY_KEYS", "abbreviation", "format_text", "format_markdown_summary", "format_markdown_per_genre",
           "report_json", "json_safe"]

# (key of GenreReport.to_dict(), column title)
SUMMARY_KEYS: tuple[tuple[str, str], ...] = (
    ("f1_weighted", "F1w"),
    ("auprc_weighted", "AU(PRC)w"),
    ("precision_weighted", "Pw"),
    ("recall_weighted", "Rw"),
    ("auprc_micro", "AU(PRC)mi"),
    ("auprc_macro", "AU(PRC)ma"),
)

_ABBREVIATIONS = {genre: short for short, genre in TABLE2_COLUMNS.items()}
# TABLE2_COLUMNS undoes the paper's header swap; print the natural abbreviations.
_ABBREVIATIONS.update({"Thriller": "Thrll", "Western": "Wstrn"})


def abbreviation(genre: str) -> str:
    """Table 2's short column name of a genre (other genres keep their name, spaces removed)."""
    return _ABBREVIATIONS.get(genre, genre.replace(" ", ""))


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _genre_f1(report: GenreReport, genre: str) -> float:
    entry = report.per_genre.get(genre)
    if entry is None or entry["support"] == 0:
        return math.nan
    return entry["f1"]


def format_text(rows: Sequence[tuple[str, GenreReport]], title: str | None = None) -> str:
    """Fixed-width report: per-genre F1 with support, per-genre AU(PRC), then summaries.

    Parameters
    ----------
    rows : sequence of (name, GenreReport)
        Typically ``[("t=0.5", report), ("tuned", tuned_report)]``; the support
        and per-genre AU(PRC) (threshold-free) are taken from the first row.
    title : str, optional
        First line of the report (control characters escaped: it may hold a path).
    """
    if not rows:
        return ""
    genres = list(dict.fromkeys(g for _, report in rows for g in report.per_genre))  # in order of appearance
    first = rows[0][1]
    name_width = max(10, *(len(name) for name, _ in rows)) + 2
    width = max(6, *(len(abbreviation(g)) for g in genres)) + 1
    lines = [escape_control(title)] if title else []
    support = [first.per_genre[g]["support"] if g in first.per_genre else 0 for g in genres]
    lines += [f"Per-genre F1 ({first.n_trailers} trailers; support = positives)",
              " " * name_width + "".join(abbreviation(g).rjust(width) for g in genres),
              "Support".ljust(name_width) + "".join(str(s).rjust(width) for s in support)]
    for name, report in rows:
        lines.append(name.ljust(name_width) + "".join(_fmt(_genre_f1(report, g), 2).rjust(width) for g in genres))
    auprc = [first.per_genre.get(g, {}).get("auprc", math.nan) for g in genres]
    lines += ["AU(PRC)".ljust(name_width) + "".join(_fmt(a, 2).rjust(width) for a in auprc), "",
              " " * name_width + "".join(title_.rjust(11) for _, title_ in SUMMARY_KEYS)]
    for name, report in rows:
        values = report.to_dict()
        lines.append(name.ljust(name_width) + "".join(_fmt(values[key]).rjust(11) for key, _ in SUMMARY_KEYS))
    missing = [g for g, s in zip(genres, support) if s == 0]
    if missing:
        lines += ["", f"No positives in this split (support 0, left out of the averages): {', '.join(missing)}"]
    thresholds = [(name, r) for name, r in rows if any(e["threshold"] != 0.5 for e in r.per_genre.values())]
    for name, report in thresholds:
        lines += ["", f"Thresholds of row '{name}':",
                  " " * name_width + "".join(_fmt(report.per_genre[g]["threshold"], 2).rjust(width) for g in genres)]
    return "\n".join(lines) + "\n"


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def format_markdown_summary(rows: Sequence[tuple[str, dict]], header: str = "Model") -> str:
    """Markdown table of the summary metrics.

    Parameters
    ----------
    rows : sequence of (name, dict)
        Each dict has (some of) the keys of :data:`SUMMARY_KEYS`; absent or NaN
        values print as ``-``.
    """
    lines = [_md_row([header, *(t for _, t in SUMMARY_KEYS)]), _md_row(["---"] + ["---:"] * len(SUMMARY_KEYS))]
    lines += [_md_row([name, *(_fmt(values.get(key)) for key, _ in SUMMARY_KEYS)]) for name, values in rows]
    return "\n".join(lines) + "\n"


def format_markdown_per_genre(
    rows: Sequence[tuple[str, dict[str, float]]], genres: Sequence[str], support: Sequence[tuple[str, dict[str, int]]]
) -> str:
    """Markdown table of per-genre F1: support rows first, then one row per model.

    Parameters
    ----------
    rows : sequence of (name, {genre: f1})
    genres : sequence of str
        Column order.
    support : sequence of (name, {genre: support})
    """
    lines = [_md_row(["Model", *(abbreviation(g) for g in genres)]), _md_row(["---"] + ["---:"] * len(genres))]
    lines += [_md_row([f"*{name}*", *(str(values.get(g, "-")) for g in genres)]) for name, values in support]
    lines += [_md_row([name, *(_fmt(values.get(g), 2) for g in genres)]) for name, values in rows]
    return "\n".join(lines) + "\n"


def json_safe(value):
    """Replace NaN and Inf by None (JSON has no NaN) in nested dicts and lists."""
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def report_json(report: GenreReport, tuned: GenreReport | None = None, **extra) -> dict:
    """The JSON object of a report.

    Top level: ``f1_weighted``, ``auprc_weighted``, ``precision_weighted``,
    ``recall_weighted``, ``auprc_micro``, ``auprc_macro``, ``per_genre`` (genre ->
    {f1, support, auprc, precision, recall, threshold}) and ``n_trailers`` at
    threshold 0.5; ``tuned`` holds the same keys with tuned thresholds when given.
    NaN (AU(PRC) of a genre without positives) becomes ``null``.
    """
    result = report.to_dict()
    if tuned is not None:
        result["tuned"] = tuned.to_dict()
    result.update(extra)
    return json_safe(result)
