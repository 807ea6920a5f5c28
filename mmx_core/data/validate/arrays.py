"""Validation of a data set's arrays: the index offsets, each expert's features and the manifest's counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import load_npy
from mmx_core.data.manifest import MANIFEST_NAME, Manifest
from mmx_core.data.validate.report import ValidationReport

__all__ = ["check_offsets", "check_expert", "check_counts"]

_CHUNK_BYTES = 64 << 20


def _load_npy(path: Path, rel: str, report: ValidationReport, mmap: bool = False) -> np.ndarray | None:
    file = path / rel
    if not file.exists() and not file.is_symlink():
        report.add(rel, "missing")
        return None
    try:  # a regular file whose header fits the file, checked before anything is read
        return load_npy(file, rel, mmap=mmap)
    except MMXError as exc:
        report.add(rel, exc.message)
    except Exception as exc:  # noqa: BLE001 - a damaged .npy in any way
        report.add(rel, f"cannot read as .npy without pickle ({str(exc)[:160]})")
    return None


def check_offsets(path: Path, rel: str, n_owners: int | None, report: ValidationReport, max_rows: int,
                  low: int = 0, high: int | None = None, what: str = "clip", child: str = "frame") -> np.ndarray | None:
    """Check an offsets array; returns it when it is usable (1-D int64, starts at 0, non-decreasing)."""
    offsets = _load_npy(path, rel, report)
    if offsets is None:
        return None
    if offsets.dtype != np.int64 or offsets.ndim != 1 or len(offsets) == 0:
        report.add(rel, f"must be a 1-D int64 array, got {offsets.dtype} of shape {offsets.shape}")
        return None
    known = len(report.problems)
    if n_owners is not None and len(offsets) != n_owners + 1:
        report.add(rel, f"has {len(offsets)} entries but there are {n_owners} {what}s (expected {n_owners + 1})")
    if offsets[0] != 0:
        report.add(rel, f"must start at 0, starts at {offsets[0]}", 0)
    sizes = np.diff(offsets)
    report.add_rows(rel, np.flatnonzero(sizes < 0), "offsets decrease (the index is corrupt)", max_rows)
    usable = len(report.problems) == known  # none of the three checks above failed
    if low > 0:
        report.add_rows(rel, np.flatnonzero((sizes >= 0) & (sizes < low)),
                        f"{what} has no {child}; every {what} needs at least {low}", max_rows)
    if high is not None:
        report.add_rows(rel, np.flatnonzero(sizes > high),
                        lambda r: f"{what} has {sizes[r]} {child}s, more than the manifest's {high}", max_rows)
    return offsets if usable else None


def check_expert(path: Path, name: str, spec, manifest: Manifest, n_clips: int | None, report: ValidationReport,
                 deep: bool, max_rows: int) -> np.ndarray | None:
    """Check one expert's frame offsets and features (NaN/Inf too when ``deep``); its frames per clip or None."""
    folder = f"experts/{name}"
    rel_off, rel_feat = f"{folder}/frame_offsets.npy", f"{folder}/features.npy"
    offsets = check_offsets(path, rel_off, n_clips, report, max_rows, high=1 if spec.temporal == "pooled" else None)
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
            bad = [start + np.flatnonzero(~np.isfinite(np.asarray(features[start:start + step])).all(axis=1))
                   for start in range(0, features.shape[0], step)]
            report.add_rows(rel_feat, np.concatenate([np.zeros(0, np.int64), *bad]), "frame holds NaN or Inf", max_rows)
    return None if offsets is None else np.diff(offsets)


def check_counts(manifest: Manifest, report: ValidationReport, n_trailers, n_seq, n_clips, frame_counts) -> None:
    """Compare the manifest's ``counts`` with what the data holds."""
    counts = manifest.counts
    for key, value in {"trailers": n_trailers, "sequences": n_seq, "clips": n_clips}.items():
        if value is not None and key in counts and counts[key] != value:
            report.add(MANIFEST_NAME, f"counts.{key} is {counts[key]} but the data holds {value}")
    for name, sizes in frame_counts.items():
        want = counts.get("frames", {}).get(name) if isinstance(counts.get("frames"), dict) else None
        if want is not None and want != int(sizes.sum()):
            report.add(MANIFEST_NAME, f"counts.frames.{name} is {want} but the data holds {int(sizes.sum())}")

