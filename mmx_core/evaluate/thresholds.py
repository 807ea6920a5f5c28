"""Per-genre decision thresholds tuned on a validation split.

A fixed threshold of 0.5 suits a calibrated classifier with balanced genres; rare
genres usually want a lower one. :func:`tune_thresholds` picks, for each genre,
the threshold that maximises F1 on validation scores; the test split is then
scored with those thresholds (the second row of the report).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from mmx_core.trailers.metrics import GenreReport, check_scores_labels, genre_metrics

__all__ = ["tune_thresholds", "best_f1_threshold", "evaluate_scores"]


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray, default: float = 0.5) -> float:
    """The threshold that maximises F1 of ``scores >= threshold`` against ``labels``.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
    labels : ndarray of shape (n_samples,)
        0/1 ground truth.
    default : float
        Returned when ``labels`` holds no positive (F1 is then undefined).

    Returns
    -------
    float
        The midpoint between the chosen score and the next lower distinct score,
        so that unseen scores between the two fall on the same side as on
        validation (ties broken towards the higher threshold).
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if labels.sum() == 0:
        return float(default)
    precision, recall, candidates = precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = candidates[len(f1) - 1 - np.argmax(f1[::-1])]  # the last maximum: ties go to the higher threshold
    lower = scores[scores < best]
    if lower.size == 0:
        return float(best)
    return float((best + lower.max()) / 2.0)


def tune_thresholds(scores: np.ndarray, labels: np.ndarray, genres: list[str] | None = None,
                    default: float = 0.5) -> np.ndarray:
    """Per-genre thresholds that maximise F1 on validation scores.

    Parameters
    ----------
    scores : ndarray of shape (n_trailers, n_genres)
        Validation scores.
    labels : ndarray of shape (n_trailers, n_genres)
        Validation multi-hot labels.
    genres : list of str, optional
        Column names (only checked for length).
    default : float
        Threshold of genres without a validation positive.

    Returns
    -------
    ndarray of shape (n_genres,)
    """
    check_scores_labels(scores, labels, genres)
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    return np.array([best_f1_threshold(scores[:, g], labels[:, g], default) for g in range(scores.shape[1])])


def evaluate_scores(val_scores, val_labels, test_scores, test_labels,
                    genres) -> tuple[GenreReport, GenreReport, np.ndarray]:
    """Test metrics at threshold 0.5 and with per-genre thresholds tuned on validation, and those thresholds."""
    thresholds = tune_thresholds(val_scores, val_labels, genres)
    fixed = genre_metrics(test_scores, test_labels, genres, threshold=0.5)
    return fixed, genre_metrics(test_scores, test_labels, genres, threshold=thresholds), thresholds
