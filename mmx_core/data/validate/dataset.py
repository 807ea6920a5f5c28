"""Check a trailer data set completely (:func:`validate_dataset`), and once per version before use."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from mmx_core.base.artefacts import write_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import cache_dir
from mmx_core.data.manifest import dataset_fingerprint, read_manifest
from mmx_core.data.validate.arrays import check_counts, check_expert, check_offsets
from mmx_core.data.validate.report import ValidationReport
from mmx_core.data.validate.table import check_manifest, check_trailers

__all__ = ["validate_dataset", "ensure_valid"]

log = logging.getLogger(__name__)


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
    manifest = check_manifest(path, report)
    table = check_trailers(path, report, manifest, max_rows)
    if manifest is None:
        return report
    report.generated = manifest.generated
    n_trailers = None if table is None else len(table)
    seq = check_offsets(path, "index/sequence_offsets.npy", n_trailers, report, max_rows,
                         low=1, what="trailer", child="sequence")
    n_seq = None if seq is None else int(seq[-1])
    clip = check_offsets(path, "index/clip_offsets.npy", n_seq, report, max_rows,
                          low=1, high=manifest.clips_per_sequence, what="sequence", child="clip")
    n_clips = None if clip is None else int(clip[-1])
    report.sequences = n_seq or 0
    report.clips = n_clips or 0
    frame_counts = {name: check_expert(path, name, spec, manifest, n_clips, report, deep, max_rows)
                    for name, spec in manifest.experts.items()}
    frame_counts = {name: counts for name, counts in frame_counts.items() if counts is not None}
    experts_dir = path / "experts"
    if experts_dir.is_dir():
        for extra in sorted(p.name for p in experts_dir.iterdir() if p.is_dir() and p.name not in manifest.experts):
            report.add(f"experts/{extra}", f"expert folder {extra!r} is not listed in manifest.json 'experts'")
    if n_clips is not None and len(frame_counts) == len(manifest.experts) and frame_counts:
        empty = np.flatnonzero(sum(c for c in frame_counts.values()) == 0)
        report.add_rows("index/clip_offsets.npy", empty, "clip has no feature from any expert", max_rows)
    check_counts(manifest, report, n_trailers, n_seq, n_clips, frame_counts)
    return report


# ---------------------------------------------------------------------------- ensure_valid
def _validation_key(path: Path) -> str | None:
    try:
        manifest = read_manifest(path)
        stamp = [dataset_fingerprint(path, manifest)]
        for name in manifest.experts:
            stat = (path / "experts" / name / "features.npy").stat()
            stamp.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    except (MMXError, OSError):
        return None
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
