"""A linear probe of an embedding space against its genre labels (the Evaluate page's third source).

PCA to ``components`` components of the unit-normalised vectors, fitted on the training trailers only,
then one logistic regression per genre, trained on ``1 - test_share`` of the trailers and scored on the
rest (fixed seed). The predictions file is cached on disk (step ``app_probe``), so the page and
``python -m mmx_core probe`` share it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmx_core.base.artefacts import cached_artefact
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.trailers.genres import PAPER_GENRES
from mmx_core.evaluate.baselines import LinearProbe
from mmx_core.evaluate.predictions import Predictions, load_predictions, save_predictions

__all__ = ["MIN_LABELLED", "probe_path", "probe_predictions"]

MIN_LABELLED = 50
"""Fewest trailers with genres the probe accepts."""


def _labels(emb: EmbeddingSet) -> tuple[list[str], np.ndarray]:
    if emb.metadata is None or "genres" not in emb.metadata:
        raise MMXError(f"embedding set {emb.name!r} has no genre labels to evaluate against")
    genres = [g for g in PAPER_GENRES if any(g in row for row in emb.metadata["genres"])]
    genres += sorted({g for row in emb.metadata["genres"] for g in row} - set(PAPER_GENRES))  # beyond the paper's 20
    labels = np.array([[g in row for g in genres] for row in emb.metadata["genres"]], dtype=np.int64)
    return genres, labels


def probe_path(emb: EmbeddingSet, seed: int = 0, test_share: float = 0.2, components: int = 128,
               compute: bool = True) -> Path | None:
    """The cached predictions file of the probe on ``emb``; computed when absent unless ``compute`` is False
    (then None when it is not cached yet)."""
    genres, labels = _labels(emb)
    keep = labels.any(axis=1)
    if keep.sum() < MIN_LABELLED:
        raise MMXError(f"only {int(keep.sum())} trailers of {emb.name!r} have genres; the probe needs {MIN_LABELLED}")
    params = {"seed": seed, "test_share": test_share, "C": 0.1, "pca_components": components}  # key the cache

    def fit_and_score(path: Path) -> None:
        order = np.random.default_rng(seed).permutation(np.flatnonzero(keep))
        n_test = int(len(order) * test_share)
        test, train = order[:n_test], order[n_test:]
        X = emb.normalized().astype(np.float64)
        mean = X[train].mean(axis=0)
        _, _, vt = np.linalg.svd(X[train] - mean, full_matrices=False)
        Xr = (X - mean) @ vt[:components].T
        probe = LinearProbe(C=params["C"], max_iter=300).fit(Xr[train], labels[train])
        save_predictions(path, probe.predict_proba(Xr[test]), labels[test], genres)

    return cached_artefact("app_probe", params, {"embeddings": emb.content_hash},
                           fit_and_score if compute else None, suffix=".npz")


def probe_predictions(emb: EmbeddingSet, seed: int = 0, test_share: float = 0.2, components: int = 128) -> Predictions:
    """Scores of the probe on the held-out share of ``emb`` (computed once, then read from the cache)."""
    return load_predictions(probe_path(emb, seed, test_share, components))
