"""Checks of a batch of trailers before :class:`~mmx_core.data.writer.DatasetWriter` writes any of it.

Counts must agree with each other, rows must be complete, unique and use the
vocabulary, features must have the experts' shapes and survive the on-disk
dtype; a failing batch raises :class:`MMXError` and nothing of it is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.data.manifest import SPLITS, ExpertSpec

__all__ = ["check_batch", "check_row"]


def check_batch(rows: Sequence[dict[str, Any]], sequence_counts: np.ndarray, clip_counts: np.ndarray,
                features: Mapping[str, tuple[np.ndarray, np.ndarray]], *, experts: Mapping[str, ExpertSpec],
                clips_per_sequence: int, dtype: np.dtype, genres: set[str], done_ids: set[str],
                out: Path) -> dict[str, np.ndarray]:
    """Check a batch (see :meth:`DatasetWriter.add_trailers`); returns each expert's frames in ``dtype``.

    ``sequence_counts`` and ``clip_counts`` must already be int64 arrays.
    """
    if len(sequence_counts) != len(rows) or sequence_counts.sum() != len(clip_counts):
        raise MMXError(f"{len(rows)} rows, {len(sequence_counts)} sequence counts summing to "
                       f"{sequence_counts.sum()} and {len(clip_counts)} clip counts do not match", out)
    if (sequence_counts < 1).any():
        bad = rows[int(np.flatnonzero(sequence_counts < 1)[0])].get("id")
        raise MMXError(f"trailer {bad!r} has no sequence; every trailer needs at least one", out)
    if ((clip_counts < 1) | (clip_counts > clips_per_sequence)).any():
        raise MMXError(f"a sequence must hold 1..{clips_per_sequence} clips, "
                       f"got {clip_counts.min()}..{clip_counts.max()}", out)
    if set(features) != set(experts):
        raise MMXError(f"features given for {sorted(features)} but the data set has experts "
                       f"{sorted(experts)}", out)
    for row in rows:
        check_row(row, genres, done_ids, out)
    n_clips = int(clip_counts.sum())
    for name, (frames, frame_counts) in features.items():
        spec = experts[name]
        frame_counts = np.asarray(frame_counts, dtype=np.int64)
        if frames.ndim != 2 or frames.shape[1] != spec.dim:
            raise MMXError(f"expert {name!r}: frames must have shape (n_frames, {spec.dim}), "
                           f"got {frames.shape}", out)
        if len(frame_counts) != n_clips or frame_counts.sum() != len(frames) or (frame_counts < 0).any():
            raise MMXError(f"expert {name!r}: {len(frame_counts)} frame counts summing to {frame_counts.sum()} "
                           f"for {n_clips} clips and {len(frames)} frames", out)
        if spec.temporal == "pooled" and (frame_counts > 1).any():
            raise MMXError(f"expert {name!r} is pooled: a clip holds at most one frame", out)
    converted = {}
    for name, (frames, _) in features.items():  # convert and check all before writing any
        with np.errstate(over="ignore", invalid="ignore"):
            data = np.ascontiguousarray(frames, dtype=dtype)
        if not np.isfinite(data).all():
            bad = rows[0].get("id") if len(rows) == 1 else f"{rows[0].get('id')}..{rows[-1].get('id')}"
            raise MMXError(f"expert {name!r} of trailer(s) {bad}: features hold NaN/Inf "
                           f"(or overflow {dtype})", out)
        converted[name] = data
    return converted


def check_row(row: dict[str, Any], genres: set[str], done_ids: set[str], out: Path) -> None:
    """A trailer row has an id not written yet, genres of the vocabulary and a known split."""
    for key in ("id", "genres", "split"):
        if key not in row:
            raise MMXError(f"trailer row {row!r:.80} lacks {key!r}", out)
    if str(row["id"]) in done_ids:
        raise MMXError(f"trailer id {row['id']!r} is written twice; ids must be unique", out)
    unknown = set(row["genres"]) - genres
    if unknown:
        raise MMXError(f"trailer {row['id']!r}: genres {sorted(unknown)} are not in the vocabulary", out)
    if row["split"] not in SPLITS:
        raise MMXError(f"trailer {row['id']!r}: split {row['split']!r} is not one of {list(SPLITS)}", out)
