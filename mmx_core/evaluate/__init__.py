"""Evaluation: the paper's metrics, reports and baselines."""

from mmx_core.trailers.metrics import GenreReport, genre_metrics
from mmx_core.evaluate.thresholds import tune_thresholds

__all__ = ["GenreReport", "genre_metrics", "tune_thresholds"]
