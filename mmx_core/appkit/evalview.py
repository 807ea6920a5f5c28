"""Tables and curves for the app's Evaluate page.

Three sources of genre scores are evaluated with :func:`mmx_core.trailers.metrics.genre_metrics`:

- a predictions file (``scores``, ``labels``, ``genres``) written by a run (listed and read by
  :func:`mmx_core.workspace.prediction_files` / :func:`mmx_core.workspace.load_prediction_file`);
- a run's checkpoint on a data set split (:func:`mmx_core.train.predict_scores`);
- a linear probe on an embedding set with genre labels (:mod:`mmx_core.evaluate.probe`, run as a job).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from mmx_core.base.errors import MMXError
from mmx_core.trailers.metrics import GenreReport, genre_metrics
from mmx_core.evaluate.paper import load_table2
from mmx_core.evaluate.predictions import Predictions

__all__ = ["checkpoint_predictions", "report_tables", "paper_table", "pr_curves"]


def checkpoint_predictions(checkpoint: str, data: str, split: str = "test") -> Predictions:
    """Scores of a checkpoint (a key of :func:`mmx_core.workspace.checkpoints`: ``run:<run>`` or ``models:<file>``)
    on split ``split`` of data set ``data`` under the data folder."""
    from mmx_core.base.paths import data_dir
    from mmx_core.data import TrailerStore
    from mmx_core.train import load_checkpoint, predict_scores
    from mmx_core.workspace import checkpoints, data_sets

    known = checkpoints()
    if checkpoint not in known:
        raise MMXError(f"unknown checkpoint {checkpoint!r}; available: {list(known)}")
    if data not in data_sets():
        raise MMXError(f"data set {data!r} is not under {data_dir()}; available: {data_sets()}")
    store = TrailerStore.open(data_dir() / data, validate=False)
    scores, labels = predict_scores(store, load_checkpoint(known[checkpoint]), split)
    return Predictions(np.asarray(scores, float), np.asarray(labels).astype(np.int64), list(store.manifest.genres))


def report_tables(pred: Predictions) -> tuple[GenreReport, pd.DataFrame, pd.DataFrame]:
    """The report, its summary table (ours beside the paper's model) and per-genre F1 beside the paper's."""
    report = genre_metrics(pred.scores, pred.labels, pred.genres)
    paper = load_table2().rows.get("MMX-Trailer-20")
    keys = [("F1w", "f1_weighted"), ("AU(PRC)w", "auprc_weighted"), ("Pw", "precision_weighted"),
            ("Rw", "recall_weighted"), ("AU(PRC) micro", "auprc_micro"), ("AU(PRC) macro", "auprc_macro")]
    summary = pd.DataFrame({"metric": [k for k, _ in keys],
                            "this model": [getattr(report, a) for _, a in keys],
                            "paper (MMX-Trailer-20)": [getattr(paper, a) if paper else np.nan for _, a in keys]})
    per_genre = pd.DataFrame([{"genre": g, "support": v["support"], "F1": v["f1"], "AU(PRC)": v["auprc"],
                               "paper F1": paper.per_genre_f1.get(g, np.nan) if paper else np.nan}
                              for g, v in report.per_genre.items()])
    return report, summary, per_genre


def paper_table() -> pd.DataFrame:
    """Table 2 of the paper (per-genre F1 and summary metrics of every model it lists)."""
    return pd.DataFrame([{"model": name, **row.per_genre_f1, "F1w": row.f1_weighted, "AU(PRC)w": row.auprc_weighted,
                          "Pw": row.precision_weighted, "Rw": row.recall_weighted}
                         for name, row in load_table2().rows.items()])


def pr_curves(pred: Predictions, genres: list[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (recall, precision)}`` for the micro average and each chosen genre with positives."""
    chosen = {g: pred.genres.index(g) for g in genres or [] if g in pred.genres}
    columns = [("micro average", pred.labels.ravel(), pred.scores.ravel())]
    columns += [(g, pred.labels[:, i], pred.scores[:, i]) for g, i in chosen.items()]
    curves = {}
    for name, labels, scores in columns:
        if labels.any():
            p, r, _ = precision_recall_curve(labels, scores)
            curves[name] = (r, p)
    return curves
