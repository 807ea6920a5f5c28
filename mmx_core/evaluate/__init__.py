"""Evaluation: the paper's metrics, reports and baselines.

- :mod:`.thresholds`: per-genre thresholds tuned for F1 on a validation split.
- :mod:`.report`: Table-2-like text, Markdown and JSON.
- :mod:`.predictions`: the ``.npz`` predictions file of ``python -m mmx_core score``.
- :mod:`.paper`: the paper's Tables 2 and 3 as data.
- :mod:`.baselines`: random scores and a linear probe on a fixed embedding.
- :mod:`.results_doc`: the generated blocks of docs/results.md.
"""

from mmx_core.trailers.metrics import GenreReport, genre_metrics
from mmx_core.evaluate.thresholds import tune_thresholds

__all__ = ["GenreReport", "genre_metrics", "tune_thresholds"]
