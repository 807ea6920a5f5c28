"""The result of a data set validation (:class:`ValidationReport`) and its short human summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mmx_core.base.safeio import escape_control

__all__ = ["ValidationReport", "format_report"]


@dataclass
class ValidationReport:
    """Result of :func:`validate_dataset`.

    Attributes
    ----------
    path : str
        The data set folder.
    ok : bool
        True when no problem was found.
    problems : list of dict
        ``{"file": path relative to the set, "row": int or None, "message": str}``.
    trailers, sequences, clips : int
        Counts (from the trailer table and the index, when readable).
    genre_counts : dict of str to int
        Genre -> trailers tagged with it.
    mean_labels : float
        Mean genres per trailer.
    max_labels : int
        Most genres on one trailer.
    splits : dict of str to int
        Split -> trailers.
    generated : bool or None
        The manifest's ``generated`` flag (None when the manifest is unreadable).
    """

    path: str
    ok: bool = True
    problems: list[dict[str, Any]] = field(default_factory=list)
    trailers: int = 0
    sequences: int = 0
    clips: int = 0
    genre_counts: dict[str, int] = field(default_factory=dict)
    mean_labels: float = 0.0
    max_labels: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    generated: bool | None = None

    def add(self, file: str, message: str, row: int | None = None) -> None:
        self.problems.append({"file": escape_control(file), "row": None if row is None else int(row),
                              "message": escape_control(message)})
        self.ok = False

    def add_rows(self, file: str, rows: np.ndarray, message, max_rows: int) -> None:
        """One problem per row in ``rows`` (up to ``max_rows``), then a count of the rest.

        ``message`` is a string or a callable ``row -> str``.
        """
        text = message if callable(message) else lambda row: message
        rows = np.asarray(rows).reshape(-1)
        for row in rows[:max_rows]:
            self.add(file, text(int(row)), int(row))
        if len(rows) > max_rows:
            self.add(file, f"{len(rows) - max_rows} more rows with the same problem ({text(int(rows[max_rows]))})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_report(report: ValidationReport) -> str:
    """A short human summary: status, counts, genre counts, label cardinality, problems (names escaped: one
    line each)."""
    lines = [f"{escape_control(report.path)}: {'OK' if report.ok else f'{len(report.problems)} problem(s)'}"]
    kind = {True: ", generated features", False: "", None: ""}[report.generated]
    lines.append(f"  trailers {report.trailers}, sequences {report.sequences}, clips {report.clips}{kind}")
    if report.splits:
        lines.append("  splits " + ", ".join(f"{k} {v}" for k, v in report.splits.items()))
    if report.genre_counts:
        lines.append(f"  labels per trailer: mean {report.mean_labels:.2f}, max {report.max_labels}")
        top = sorted(report.genre_counts.items(), key=lambda kv: -kv[1])
        lines.append("  genres " + ", ".join(f"{escape_control(g)} {n}" for g, n in top))
    for p in report.problems:
        where = p["file"] + (f" row {p['row']}" if p["row"] is not None else "")
        lines.append(f"  {escape_control(where)}: {escape_control(p['message'])}")
    return "\n".join(lines)
