"""Tables and curves for the app's Evaluate page.

Three sources of genre scores are evaluated with :func:`mmx_core.evaluate.metrics.genre_metrics`:

- a predictions file (``scores``, ``labels``, ``genres``) written by a run, ``runs/*/**/predictions*.npz``;
- a run's checkpoint on a data set split (:func:`mmx_core.train.predict_scores`);
- a linear probe on an embedding set with genre labels (e.g. the published embeddings): PCA to 128
  components, trained on 80 % of the trailers and scored on the other 20 % (fixed seed, cached on disk).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from mmx_core.base.artefacts import cached_artefact
from mmx_core.base.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.evaluate.metrics import GenreReport, genre_metrics
from mmx_core.evaluate.paper import load_table2
from mmx_core.evaluate.predictions import Predictions, load_predictions, save_predictions
from mmx_core.base.genres import PAPER_GENRES
from mmx_core.base.paths import runs_dir

__all__ = ["prediction_files", "probe_predictions", "checkpoint_predictions", "report_tables", "paper_table",
           "pr_curves"]


def prediction_files() -> dict[str, Path]:
    """Predictions files under the runs folder, keyed ``<run>/<file>``."""
    root = runs_dir()
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): p for p in sorted(root.glob("*/**/predictions*.npz"))}


def load(name: str) -> Predictions:
    """The predictions file ``name`` (a key of :func:`prediction_files`)."""
    files = prediction_files()
    if name not in files:
        raise MMXError(f"no predictions file {name!r}; available: {list(files)}")
    return load_predictions(files[name])


def probe_predictions(emb: EmbeddingSet, seed: int = 0, test_share: float = 0.2, components: int = 128) -> Predictions:
    """Scores of a linear probe (one logistic regression per genre on ``components`` PCA components of the
    unit-normalised vectors) on a held-out fifth of ``emb``; cached on disk."""
    from mmx_core.evaluate.baselines import LinearProbe

    if emb.metadata is None or "genres" not in emb.metadata:
        raise MMXError(f"embedding set {emb.name!r} has no genre labels to evaluate against")
    genres = [g for g in PAPER_GENRES if any(g in row for row in emb.metadata["genres"])]
    labels = np.array([[g in row for g in genres] for row in emb.metadata["genres"]], dtype=np.int64)
    keep = labels.any(axis=1)
    if keep.sum() < 50:
        raise MMXError(f"only {int(keep.sum())} trailers of {emb.name!r} have genres; the probe needs 50")

    def compute(path: Path) -> None:
        rows = np.flatnonzero(keep)
        order = np.random.default_rng(seed).permutation(rows)
        n_test = int(len(order) * test_share)
        test, train = order[:n_test], order[n_test:]
        X = emb.normalized().astype(np.float64)
        mean = X[train].mean(axis=0)
        _, _, vt = np.linalg.svd(X[train] - mean, full_matrices=False)
        reduce = vt[:components].T           # PCA fitted on the training trailers only
        Xr = (X - mean) @ reduce
        probe = LinearProbe(C=0.1, max_iter=300).fit(Xr[train], labels[train])
        save_predictions(path, probe.predict_proba(Xr[test]), labels[test], genres)

    params = {"seed": seed, "test_share": test_share, "C": 0.1, "pca_components": components}
    path = cached_artefact("app_probe", params, {"embeddings": emb.content_hash}, compute, suffix=".npz")
    return load_predictions(path)


def checkpoint_predictions(checkpoint: str, data: str, split: str = "test") -> Predictions:
    """Scores of a checkpoint (a key of :func:`mmx_core.jobs.launcher.checkpoints`: ``run:<run>`` or ``models:<file>``)
    on split ``split`` of data set ``data`` under the data folder."""
    from mmx_core.data import TrailerStore
    from mmx_core.jobs.launcher import checkpoints, data_sets
    from mmx_core.base.paths import data_dir
    from mmx_core.train import load_checkpoint, predict_scores

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
    table = load_table2()
    rows = []
    for name, row in table.rows.items():
        record = {"model": name, **row.per_genre_f1, "F1w": row.f1_weighted, "AU(PRC)w": row.auprc_weighted,
                  "Pw": row.precision_weighted, "Rw": row.recall_weighted}
        rows.append(record)
    return pd.DataFrame(rows)


def pr_curves(pred: Predictions, genres: list[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (recall, precision)}`` for the micro average and each chosen genre with positives."""
    curves = {}
    if pred.labels.any():
        p, r, _ = precision_recall_curve(pred.labels.ravel(), pred.scores.ravel())
        curves["micro average"] = (r, p)
    for g in genres or []:
        if g in pred.genres:
            column = pred.genres.index(g)
            if pred.labels[:, column].any():
                p, r, _ = precision_recall_curve(pred.labels[:, column], pred.scores[:, column])
                curves[g] = (r, p)
    return curves
