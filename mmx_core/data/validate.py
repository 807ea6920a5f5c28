"""Check a trailer data set completely and report every problem with its file and row.

:func:`validate_dataset` never stops at the first problem: it returns a
:class:`ValidationReport` listing all of them (per check, at most
``max_rows`` rows are listed one by one, then one line counts the rest).
:func:`ensure_valid` is what training and the app call before using a set: it
raises :class:`MMXError` on problems and remembers a clean result per data set
fingerprint in the cache folder, so a large set is scanned for NaN/Inf once.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import cache_dir
from mmx_core.data.manifest import MANIFEST_NAME, SPLITS, Manifest, manifest_problems

__all__ = ["ValidationReport", "validate_dataset", "ensure_valid", "format_report"]

log = logging.getLogger(__name__)

_CHUNK_BYTES = 64 << 20
_REQUIRED_COLUMNS = ("id", "title", "year", "genres", "split")


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
        self.problems.append({"file": file, "row": None if row is None else int(row), "message": message})
        self.ok = False

    def add_rows(self, file: str, rows: np.ndarray, message, max_rows: int) -> None:
        """One problem per row in ``rows`` (up to ``max_rows``), then a count of the rest.

        ``message`` is a string or a callable ``row -> str``.
        """
        rows = np.asarray(rows).reshape(-1)
        for row in rows[:max_rows]:
            self.add(file, message(int(row)) if callable(message) else message, int(row))
        if len(rows) > max_rows:
            text = message(int(rows[max_rows])) if callable(message) else message
            self.add(file, f"{len(rows) - max_rows} more rows with the same problem ({text})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_report(report: ValidationReport) -> str:
    """A short human summary: status, counts, genre counts, label cardinality, problems."""
    lines = [f"{report.path}: {'OK' if report.ok else f'{len(report.problems)} problem(s)'}"]
    kind = {True: ", generated features", False: "", None: ""}[report.generated]
    lines.append(f"  trailers {report.trailers}, sequences {report.sequences}, clips {report.clips}{kind}")
    if report.splits:
        lines.append("  splits " + ", ".join(f"{k} {v}" for k, v in report.splits.items()))
    if report.genre_counts:
        lines.append(f"  labels per trailer: mean {report.mean_labels:.2f}, max {report.max_labels}")
        top = sorted(report.genre_counts.items(), key=lambda kv: -kv[1])
        lines.append("  genres " + ", ".join(f"{g} {n}" for g, n in top))
    for p in report.problems:
        where = p["file"] + (f" row {p['row']}" if p["row"] is not None else "")
        lines.append(f"  {where}: {p['message']}")
    return "\n".join(lines)


def validate_dataset(path: str | Path, deep: bool = True, max_rows: int = 20) -> ValidationReport:
    """Check every file of the data set in ``path``.

    Parameters
    ----------
    path : str or Path
        Data set folder.
    deep : bool
        Also scan every feature value for NaN/Inf (reads all features once).
    max_rows : int
        Rows listed one by one per check before the rest are counted.

    Returns
    -------
    ValidationReport
    """
    path = Path(path)
    report = ValidationReport(path=str(path))
    if not path.is_dir():
        report.add(".", "data set folder not found")
        return report
    manifest = _check_manifest(path, report)
    table = _check_trailers(path, report, manifest, max_rows)
    if manifest is None:
        return report
    report.generated = manifest.generated
    n_trailers = None if table is None else len(table)
    seq = _check_offsets(path, "index/sequence_offsets.npy", n_trailers, report, max_rows,
                         low=1, what="trailer", child="sequence")
    n_seq = None if seq is None else int(seq[-1])
    clip = _check_offsets(path, "index/clip_offsets.npy", n_seq, report, max_rows,
                          low=1, high=manifest.clips_per_sequence, what="sequence", child="clip")
    n_clips = None if clip is None else int(clip[-1])
    report.sequences = n_seq or 0
    report.clips = n_clips or 0
    frame_counts = {}
    for name, spec in manifest.experts.items():
        counts = _check_expert(path, name, spec, manifest, n_clips, report, deep, max_rows)
        if counts is not None:
            frame_counts[name] = counts
    experts_dir = path / "experts"
    if experts_dir.is_dir():
        for extra in sorted(p.name for p in experts_dir.iterdir() if p.is_dir() and p.name not in manifest.experts):
            report.add(f"experts/{extra}", f"expert folder {extra!r} is not listed in manifest.json 'experts'")
    if n_clips is not None and len(frame_counts) == len(manifest.experts) and frame_counts:
        empty = np.flatnonzero(sum(c for c in frame_counts.values()) == 0)
        report.add_rows("index/clip_offsets.npy", empty, "clip has no feature from any expert", max_rows)
    _check_counts(manifest, report, n_trailers, n_seq, n_clips, frame_counts)
    return report


# ---------------------------------------------------------------------------- pieces
def _check_manifest(path: Path, report: ValidationReport) -> Manifest | None:
    file = path / MANIFEST_NAME
    if not file.exists():
        report.add(MANIFEST_NAME, "missing: not a trailer data set")
        return None
    try:
        data = read_json(file)
    except MMXError as exc:
        report.add(MANIFEST_NAME, exc.message)
        return None
    problems = manifest_problems(data)
    for message in problems:
        report.add(MANIFEST_NAME, message)
    return None if problems else Manifest.from_dict(data, file)


def _check_trailers(path: Path, report: ValidationReport, manifest: Manifest | None, max_rows: int) -> pd.DataFrame | None:
    name = "trailers.parquet"
    try:
        table = pd.read_parquet(path / name)
    except FileNotFoundError:
        report.add(name, "missing: the trailer table is required")
        return None
    except Exception as exc:  # noqa: BLE001 - any parquet failure is a bad file
        report.add(name, f"cannot read as parquet ({exc})")
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
    if "year" in table.columns and not (pd.api.types.is_integer_dtype(table["year"]) or table["year"].isna().all()):
        report.add(name, f"column 'year' must be integer (nullable), got {table['year'].dtype}")
    if "genres" in table.columns:
        vocab = set(manifest.genres) if manifest is not None else None
        not_list, empty, unknown, counts, n_labels = [], [], [], Counter(), []
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
                unknown.append((row, sorted(set(value) - vocab)))
        report.add_rows(name, np.array(not_list, dtype=int), "genres must be a list of genre names", max_rows)
        report.add_rows(name, np.array(empty, dtype=int), "trailer has no genre; every trailer needs at least one",
                        max_rows)
        lookup = dict(unknown)
        report.add_rows(name, np.array([r for r, _ in unknown], dtype=int),
                        lambda r: f"genres {lookup.get(r, '?')} are not in the manifest's vocabulary", max_rows)
        order = manifest.genres if manifest is not None else sorted(counts)
        report.genre_counts = {g: int(counts.get(g, 0)) for g in order}
        report.genre_counts.update({g: int(n) for g, n in counts.items() if g not in report.genre_counts})
        report.mean_labels = float(np.mean(n_labels)) if n_labels else 0.0
        report.max_labels = int(max(n_labels)) if n_labels else 0
    if "split" in table.columns:
        split = table["split"].astype(object)
        bad = np.flatnonzero(~split.isin(SPLITS).to_numpy())
        report.add_rows(name, bad, lambda r: f"split {split.iloc[r]!r} is not one of {list(SPLITS)}", max_rows)
        report.splits = {s: int((split == s).sum()) for s in SPLITS}
    if "subgenre" in table.columns:
        bad = [r for r, v in enumerate(table["subgenre"]) if not (v is None or pd.isna(v) or isinstance(v, str))]
        report.add_rows(name, np.array(bad, dtype=int), "subgenre must be text", max_rows)
    return table


def _load_npy(path: Path, rel: str, report: ValidationReport, mmap: bool = False) -> np.ndarray | None:
    file = path / rel
    if not file.exists():
        report.add(rel, "missing")
        return None
    try:
        return np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a damaged .npy in any way
        report.add(rel, f"cannot read as .npy without pickle ({exc})")
        return None


def _check_offsets(path: Path, rel: str, n_owners: int | None, report: ValidationReport, max_rows: int,
                   low: int = 0, high: int | None = None, what: str = "clip", child: str = "frame",
                   root: Path | None = None) -> np.ndarray | None:
    """Check an offsets array; returns it when it is usable (1-D int64, starts at 0, non-decreasing)."""
    offsets = _load_npy(path, rel, report)
    if offsets is None:
        return None
    if offsets.dtype != np.int64 or offsets.ndim != 1 or len(offsets) == 0:
        report.add(rel, f"must be a 1-D int64 array, got {offsets.dtype} of shape {offsets.shape}")
        return None
    usable = True
    if n_owners is not None and len(offsets) != n_owners + 1:
        report.add(rel, f"has {len(offsets)} entries but there are {n_owners} {what}s (expected {n_owners + 1})")
        usable = False
    if offsets[0] != 0:
        report.add(rel, f"must start at 0, starts at {offsets[0]}", 0)
        usable = False
    sizes = np.diff(offsets)
    report.add_rows(rel, np.flatnonzero(sizes < 0), f"offsets decrease (the index is corrupt)", max_rows)
    usable = usable and not (sizes < 0).any()
    if low > 0:
        report.add_rows(rel, np.flatnonzero((sizes >= 0) & (sizes < low)),
                        f"{what} has no {child}; every {what} needs at least {low}", max_rows)
    if high is not None:
        report.add_rows(rel, np.flatnonzero(sizes > high),
                        lambda r: f"{what} has {sizes[r]} {child}s, more than the manifest's {high}", max_rows)
    return offsets if usable else None


def _check_expert(path: Path, name: str, spec, manifest: Manifest, n_clips: int | None, report: ValidationReport,
                  deep: bool, max_rows: int) -> np.ndarray | None:
    folder = f"experts/{name}"
    rel_off, rel_feat = f"{folder}/frame_offsets.npy", f"{folder}/features.npy"
    offsets = _check_offsets(path, rel_off, n_clips, report, max_rows, high=1 if spec.temporal == "pooled" else None,
                             what="clip", child="frame")
    features = _load_npy(path, rel_feat, report, mmap=True)
    if features is not None:
        if str(features.dtype) != manifest.dtype:
            report.add(rel_feat, f"dtype is {features.dtype}, the manifest says {manifest.dtype}")
        if features.ndim != 2 or features.shape[1] != spec.dim:
            report.add(rel_feat, f"shape is {features.shape}, expected (n_frames, {spec.dim}) from the manifest")
        elif offsets is not None and offsets[-1] != features.shape[0]:
            report.add(rel_off, f"ends at {offsets[-1]} but {rel_feat} has {features.shape[0]} frames")
        elif deep and np.issubdtype(features.dtype, np.floating):
            step = max(1, _CHUNK_BYTES // max(1, features.shape[1] * features.dtype.itemsize))
            bad = []
            for start in range(0, features.shape[0], step):
                block = np.asarray(features[start:start + step])
                finite = np.isfinite(block).all(axis=1)
                if not finite.all():
                    bad.append(start + np.flatnonzero(~finite))
            if bad:
                report.add_rows(rel_feat, np.concatenate(bad), "frame holds NaN or Inf", max_rows)
    return None if offsets is None else np.diff(offsets)


def _check_counts(manifest: Manifest, report: ValidationReport, n_trailers, n_seq, n_clips, frame_counts) -> None:
    counts = manifest.counts
    actual = {"trailers": n_trailers, "sequences": n_seq, "clips": n_clips}
    for key, value in actual.items():
        if value is not None and key in counts and counts[key] != value:
            report.add(MANIFEST_NAME, f"counts.{key} is {counts[key]} but the data holds {value}")
    for name, sizes in frame_counts.items():
        want = counts.get("frames", {}).get(name) if isinstance(counts.get("frames"), dict) else None
        if want is not None and want != int(sizes.sum()):
            report.add(MANIFEST_NAME, f"counts.frames.{name} is {want} but the data holds {int(sizes.sum())}")


# ---------------------------------------------------------------------------- ensure_valid
def _validation_key(path: Path) -> str | None:
    from mmx_core.data.manifest import dataset_fingerprint, read_manifest

    try:
        manifest = read_manifest(path)
        stamp = [dataset_fingerprint(path, manifest)]
        for name in manifest.experts:
            stat = (path / "experts" / name / "features.npy").stat()
            stamp.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    except (MMXError, OSError):
        return None
    import hashlib

    return hashlib.sha256(("|".join(stamp) + f"|{path.resolve()}").encode()).hexdigest()[:16]


def ensure_valid(path: str | Path) -> ValidationReport | None:
    """Validate ``path`` (once per data set version) and raise on any problem.

    Returns the report when a validation ran, None when a cached clean result was used.

    Raises
    ------
    MMXError
        Naming the first problems (file, row, message) and the command that lists all.
    """
    path = Path(path)
    key = _validation_key(path)
    marker = cache_dir() / "validation" / f"{key}.json" if key else None
    if marker is not None and marker.exists():
        return None
    report = validate_dataset(path)
    if not report.ok:
        first = "; ".join(p["file"] + (f" row {p['row']}" if p["row"] is not None else "") + f": {p['message']}"
                          for p in report.problems[:3])
        more = f" (and {len(report.problems) - 3} more)" if len(report.problems) > 3 else ""
        raise MMXError(f"invalid data set: {first}{more}; run `python -m mmx_core validate {path}` to list all", path)
    if marker is not None:
        try:
            write_json(marker, {"path": str(path), "trailers": report.trailers, "clips": report.clips})
        except OSError as exc:
            log.debug("cannot cache the validation result: %s", exc)
    return report
