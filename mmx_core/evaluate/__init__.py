"""Evaluation: the paper's metrics, reports and baselines.

- :mod:`.metrics`: :func:`genre_metrics` -> :class:`GenreReport` (AU(PRC) micro/macro/weighted, weighted P/R/F1).
- :mod:`.thresholds`: per-genre thresholds tuned for F1 on a validation split.
- :mod:`.report`: Table-2-like text, Markdown and JSON.
- :mod:`.predictions`: the ``.npz`` predictions file of ``python -m mmx_core score``.
- :mod:`.paper`: the paper's Tables 2 and 3 as data.
- :mod:`.baselines`: random scores and a linear probe on a fixed embedding.
- :mod:`.ablate`: every Table-2 variant trained and scored on one data set.
- :mod:`.subgenre`: planted sub-genre recovery (ARI, NMI, precision@k) of coarse vs fine embeddings.
- :mod:`.results_doc`: the generated blocks of docs/results.md.
"""

from mmx_core.base.metrics import GenreReport, genre_metrics
from mmx_core.evaluate.thresholds import tune_thresholds

__all__ = ["GenreReport", "genre_metrics", "tune_thresholds"]
