"""The paper's multi-label metrics.

AU(PRC) is average precision as in scikit-learn (micro, macro and weighted by
support); precision, recall and F1 are weighted by support at a threshold.
Genres without positives are reported (support 0, AU(PRC) NaN) and left out of
the macro and weighted averages, never silently dropped from the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_fscore_support

from mmx_core.base.errors import MMXError

__all__ = ["GenreReport", "genre_metrics", "check_scores_labels", "auprc_weighted", "average_precision", "paired_bootstrap"]


@dataclass
class GenreReport:
    """Metrics of one set of scores against multi-hot labels.

    Attributes
    ----------
    f1_weighted, precision_weighted, recall_weighted : float
        Support-weighted F1, precision and recall at the threshold(s).
    auprc_micro, auprc_macro, auprc_weighted : float
        Average precision pooled over all (trailer, genre) pairs, averaged over
        genres with positives, and weighted by support.
    per_genre : dict
        genre -> {"f1", "precision", "recall", "support", "auprc", "threshold"}.
    """

    f1_weighted: float
    auprc_weighted: float
    precision_weighted: float
    recall_weighted: float
    auprc_micro: float
    auprc_macro: float
    per_genre: dict[str, dict[str, float]] = field(default_factory=dict)
    n_trailers: int = 0

    def to_dict(self) -> dict:
        """Every field, in declaration order (the JSON a report writes)."""
        return asdict(self)


def check_scores_labels(scores: np.ndarray, labels: np.ndarray, genres: list[str] | None, source=None) -> list[str]:
    """Validate shapes and values; return the genre names (generated when absent)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if scores.ndim != 2 or labels.ndim != 2:
        raise MMXError(f"scores and labels must be 2-D (n_trailers, n_genres), got {scores.shape} and {labels.shape}", source)
    if scores.shape != labels.shape:
        raise MMXError(f"scores {scores.shape} and labels {labels.shape} differ in shape", source)
    if len(scores) == 0:
        raise MMXError("no trailers to score", source)
    if not np.isfinite(scores).all():
        raise MMXError("scores hold NaN or Inf", source)
    if not np.isin(labels, (0, 1)).all():
        raise MMXError("labels must be 0 or 1", source)
    if genres is None:
        return [f"genre_{i}" for i in range(scores.shape[1])]
    genres = [str(g) for g in genres]
    if len(genres) != scores.shape[1]:
        raise MMXError(f"{len(genres)} genre names for {scores.shape[1]} score columns", source)
    return genres


def genre_metrics(scores: np.ndarray, labels: np.ndarray, genres: list[str] | None = None,
                  threshold: float | np.ndarray = 0.5) -> GenreReport:
    """Compute the paper's metrics.

    Parameters
    ----------
    scores : ndarray of shape (n_trailers, n_genres)
        Probabilities (after the sigmoid) or any monotone scores; the threshold
        applies to them as given.
    labels : ndarray of shape (n_trailers, n_genres)
        Multi-hot ground truth (0/1).
    genres : list of str, optional
        Column names.
    threshold : float or ndarray of shape (n_genres,)
        Decision threshold(s) for precision, recall and F1.

    Returns
    -------
    GenreReport
    """
    genres = check_scores_labels(scores, labels, genres)
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    thresholds = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (scores.shape[1],))
    predictions = (scores >= thresholds).astype(np.int64)
    support = labels.sum(axis=0)
    has_positives = support > 0

    precision, recall, f1, _ = precision_recall_fscore_support(labels, predictions, average=None, zero_division=0)
    auprc = np.full(len(genres), np.nan)
    for g in np.flatnonzero(has_positives):
        auprc[g] = average_precision_score(labels[:, g], scores[:, g])

    weights = support / support.sum() if support.sum() > 0 else np.zeros_like(support, dtype=float)
    report = GenreReport(
        f1_weighted=float(np.sum(weights * f1)), precision_weighted=float(np.sum(weights * precision)),
        recall_weighted=float(np.sum(weights * recall)), auprc_weighted=float(np.nansum(weights * auprc)),
        auprc_micro=float(average_precision_score(labels.ravel(), scores.ravel())) if labels.any() else float("nan"),
        auprc_macro=float(np.nanmean(auprc)) if has_positives.any() else float("nan"), n_trailers=int(len(scores)))
    for g, name in enumerate(genres):
        report.per_genre[name] = {"f1": float(f1[g]), "precision": float(precision[g]), "recall": float(recall[g]),
                                  "support": int(support[g]), "auprc": float(auprc[g]),
                                  "threshold": float(thresholds[g])}
    return report


def auprc_weighted(scores: np.ndarray, labels: np.ndarray) -> float:
    """AU(PRC) weighted by support (genres without positives left out), as in :func:`genre_metrics`."""
    labels = np.asarray(labels)
    support = labels.sum(axis=0)
    columns = np.flatnonzero(support > 0)
    if columns.size == 0:
        return float("nan")
    ap = np.array([average_precision(labels[:, g], scores[:, g]) for g in columns])
    return float(np.sum(ap * support[columns]) / support[columns].sum())


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of one column, equal to scikit-learn's ``average_precision_score``.

    A lean version for resampling loops: tied scores form one threshold, as in
    scikit-learn; ``labels`` must hold at least one positive.
    """
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    ranked_scores, ranked_labels = np.asarray(scores)[order], np.asarray(labels)[order]
    last_of_threshold = np.r_[np.flatnonzero(np.diff(ranked_scores)), len(ranked_scores) - 1]
    true_positives = np.cumsum(ranked_labels)[last_of_threshold]
    precision = true_positives / (last_of_threshold + 1)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def paired_bootstrap(metric, a: np.ndarray, b: np.ndarray, labels: np.ndarray, n_resamples: int = 1000, seed: int = 0,
                     confidence: float = 0.95) -> dict[str, float]:
    """Bootstrap over trailers of ``metric(a) - metric(b)`` on the same resampled rows.

    Parameters
    ----------
    metric : callable
        ``metric(values, labels) -> float``, e.g. :func:`auprc_weighted`.
    a, b : ndarray of shape (n_trailers, ...)
        Two models' outputs for the same trailers (rows paired).
    labels : ndarray of shape (n_trailers, ...)
    n_resamples : int
    confidence : float
        Coverage of the percentile interval.

    Returns
    -------
    dict
        ``difference`` (on all rows), ``low`` and ``high`` (percentile interval),
        ``p_not_better`` (share of resamples where a does not beat b).
    """
    a, b, labels = np.asarray(a), np.asarray(b), np.asarray(labels)
    if not (len(a) == len(b) == len(labels)) or len(a) < 2:
        raise MMXError(f"paired_bootstrap needs paired rows, got {len(a)}, {len(b)} and {len(labels)}")
    if not 0 < confidence < 1:
        raise MMXError(f"confidence={confidence} must be in (0, 1)")
    rng = np.random.default_rng(seed)
    differences = np.empty(n_resamples)
    for i in range(n_resamples):
        rows = rng.integers(0, len(a), len(a))
        differences[i] = metric(a[rows], labels[rows]) - metric(b[rows], labels[rows])
    tail = (1 - confidence) / 2
    return {"difference": float(metric(a, labels) - metric(b, labels)), "low": float(np.nanquantile(differences, tail)),
            "high": float(np.nanquantile(differences, 1 - tail)), "p_not_better": float(np.mean(differences <= 0)),
            "n_resamples": int(n_resamples)}
