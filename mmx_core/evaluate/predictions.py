"""The predictions file scored by ``python -m mmx_core score``.

An ``.npz`` (no pickle) with ``scores`` (N x G floats), ``labels`` (N x G, 0/1)
and optionally ``genres`` (G strings) and ``compute_precision`` (what the
model ran in: ``fp32``, ``bf16`` or ``fp16``; read by nobody, kept for the
record). Any model's output can be scored the same way as ours.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmx_core.base.artefacts import atomic_path
from mmx_core.base.errors import MMXError
from mmx_core.trailers.metrics import check_scores_labels

__all__ = ["Predictions", "load_predictions", "save_predictions"]


@dataclass
class Predictions:
    scores: np.ndarray
    labels: np.ndarray
    genres: list[str]


def load_predictions(path: str | Path) -> Predictions:
    """Read and validate a predictions file; any problem raises :class:`MMXError` naming it."""
    path = Path(path)
    if not path.exists():
        raise MMXError("predictions file not found", path)
    if not zipfile.is_zipfile(path):
        raise MMXError("not an .npz file (expected a zip archive of .npy arrays, as numpy.savez writes)", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in ("scores", "labels") if key not in data.files]
            if missing:
                raise MMXError(f"missing array(s) {missing}; expected 'scores' and 'labels' (and optional 'genres')", path)
            scores = np.asarray(data["scores"])
            labels = np.asarray(data["labels"])
            genres = [str(g) for g in data["genres"]] if "genres" in data.files else None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise MMXError(f"not a readable .npz without pickled objects ({exc})", path) from None
    if scores.dtype.kind not in "fiub" or labels.dtype.kind not in "fiub":
        raise MMXError(f"scores and labels must be numeric, got {scores.dtype} and {labels.dtype}", path)
    genres = check_scores_labels(scores, labels, genres, source=path)
    if genres is not None and len(set(genres)) != len(genres):
        raise MMXError("genre names repeat", path)
    return Predictions(scores=scores.astype(np.float64), labels=labels.astype(np.int64), genres=genres)


def save_predictions(path: str | Path, scores: np.ndarray, labels: np.ndarray, genres: list[str],
                     compute_precision: str | None = None) -> Path:
    """Write a predictions file atomically (``compute_precision``: what the scores were computed in)."""
    check_scores_labels(scores, labels, genres, source=path)
    extra = {} if compute_precision is None else {"compute_precision": np.str_(compute_precision)}
    with atomic_path(path) as tmp:
        np.savez(tmp, scores=np.asarray(scores, dtype=np.float32), labels=np.asarray(labels, dtype=np.int8),
                 genres=np.asarray(genres, dtype=str), **extra)
    return Path(path)
