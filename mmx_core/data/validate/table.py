"""Validation of a data set's manifest and trailer table (columns, ids, genres, splits, sub-genres)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import read_json
from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import escape_control, regular_file
from mmx_core.data.manifest import MANIFEST_NAME, SPLITS, Manifest, manifest_problems
from mmx_core.data.validate.report import ValidationReport

__all__ = ["check_manifest", "check_trailers"]

_REQUIRED_COLUMNS = ("id", "title", "year", "genres", "split")


def check_manifest(path: Path, report: ValidationReport) -> Manifest | None:
    """Report the problems of ``manifest.json``; return it when it is usable."""
    file = path / MANIFEST_NAME
    if not file.exists() and not file.is_symlink():
        report.add(MANIFEST_NAME, "missing: not a trailer data set")
        return None
    try:
        data = read_json(regular_file(file, MANIFEST_NAME))
    except MMXError as exc:
        report.add(MANIFEST_NAME, exc.message)
        return None
    problems = manifest_problems(data)
    for message in problems:
        report.add(MANIFEST_NAME, message)
    return None if problems else Manifest.from_dict(data, file)


def check_trailers(path: Path, report: ValidationReport, manifest: Manifest | None, max_rows: int) -> pd.DataFrame | None:
    """Report the problems of ``trailers.parquet`` and fill the report's counts; return the table when readable."""
    name = "trailers.parquet"
    try:
        table = pd.read_parquet(regular_file(path / name, name))
    except MMXError as exc:
        report.add(name, "missing: the trailer table is required" if exc.message.endswith("not found")
                   else exc.message)
        return None
    except Exception as exc:  # noqa: BLE001 - any parquet failure is a bad file
        report.add(name, f"cannot read as parquet ({str(exc)[:200]})")
        return None
    missing = [c for c in _REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        report.add(name, f"missing column(s) {missing} (has {list(table.columns)})")
    report.trailers = len(table)
    if len(table) == 0:
        report.add(name, "holds no trailer")
    if "id" in table.columns:
        ids = table["id"]
        bad = np.flatnonzero(ids.isna().to_numpy() | (ids.astype(str).str.len() == 0).to_numpy())
        report.add_rows(name, bad, "empty id", max_rows)
        dup = np.flatnonzero(ids.duplicated(keep="first").to_numpy() & ~ids.isna().to_numpy())
        report.add_rows(name, dup, lambda r: f"id {ids.iloc[r]!r} occurs more than once; ids must be unique", max_rows)
    for column in ("id", "title"):
        if column in table.columns:
            values = table[column]
            bad = np.flatnonzero([isinstance(v, str) and escape_control(v) != v for v in values])
            report.add_rows(name, bad, lambda r, c=column, v=values: f"{c} '{escape_control(v.iloc[r])}' holds "
                            "control characters (terminal escapes, newlines); rename it", max_rows)
    if "year" in table.columns and not (pd.api.types.is_integer_dtype(table["year"]) or table["year"].isna().all()):
        report.add(name, f"column 'year' must be integer (nullable), got {table['year'].dtype}")
    if "genres" in table.columns:
        _check_genres(table, name, report, manifest, max_rows)
    if "split" in table.columns:
        split = table["split"].astype(object)
        bad = np.flatnonzero(~split.isin(SPLITS).to_numpy())
        report.add_rows(name, bad, lambda r: f"split {split.iloc[r]!r} is not one of {list(SPLITS)}", max_rows)
        report.splits = {s: int((split == s).sum()) for s in SPLITS}
    if "subgenre" in table.columns:
        bad = [r for r, v in enumerate(table["subgenre"]) if not (v is None or pd.isna(v) or isinstance(v, str))]
        report.add_rows(name, np.array(bad, dtype=int), "subgenre must be text", max_rows)
    return table


def _check_genres(table: pd.DataFrame, name: str, report: ValidationReport, manifest: Manifest | None,
                  max_rows: int) -> None:
    """The genres column: lists of names from the manifest's vocabulary; fills the genre counts."""
    vocab = set(manifest.genres) if manifest is not None else None
    not_list, empty, unknown, counts, n_labels = [], [], {}, Counter(), []
    for row, value in enumerate(table["genres"]):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
            not_list.append(row)
            n_labels.append(0)
            continue
        n_labels.append(len(set(value)))
        counts.update(set(value))
        if not value:
            empty.append(row)
        if vocab is not None and set(value) - vocab:
            unknown[row] = sorted(set(value) - vocab)
    report.add_rows(name, np.array(not_list, dtype=int), "genres must be a list of genre names", max_rows)
    report.add_rows(name, np.array(empty, dtype=int), "trailer has no genre; every trailer needs at least one",
                    max_rows)
    report.add_rows(name, np.array(list(unknown), dtype=int),
                    lambda r: f"genres {unknown[r]} are not in the manifest's vocabulary", max_rows)
    order = manifest.genres if manifest is not None else sorted(counts)
    report.genre_counts = {g: int(counts.get(g, 0)) for g in order}
    report.genre_counts.update({g: int(n) for g, n in counts.items() if g not in report.genre_counts})
    report.mean_labels = float(np.mean(n_labels)) if n_labels else 0.0
    report.max_labels = int(max(n_labels)) if n_labels else 0
