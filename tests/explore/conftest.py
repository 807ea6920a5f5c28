"""Small known-answer data for the exploration tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmx_core.trailers.embeddings import EmbeddingSet


def make_blobs(n_per: int = 60, n_blobs: int = 4, dim: int = 32, spread: float = 0.05, seed: int = 0):
    """Non-negative vectors around ``n_blobs`` well-separated directions, and their blob of origin."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((n_blobs, dim), dtype=np.float32)
    for b in range(n_blobs):  # disjoint supports: centres are orthogonal
        centres[b, b * (dim // n_blobs):(b + 1) * (dim // n_blobs)] = 1.0
    labels = np.repeat(np.arange(n_blobs), n_per)
    X = centres[labels] + spread * rng.random((len(labels), dim)).astype(np.float32)
    return X.astype(np.float32), labels


TITLES = ["Dark Night", "Funny Day", "Live Music", "War Story"]


def blob_set(n_per: int = 60, n_blobs: int = 4, dim: int = 32, seed: int = 0, name: str = "blobs") -> EmbeddingSet:
    X, labels = make_blobs(n_per, n_blobs, dim, seed=seed)
    genres = [["Horror", "Thriller"], ["Comedy"], ["Documentary", "Music"], ["War", "History"]]
    ids = np.array([f"t{i:04d}" for i in range(len(X))])
    meta = pd.DataFrame({
        "id": ids,
        "display_title": [f"{TITLES[l % 4]} {i}" for i, l in enumerate(labels)],
        "year": [1980 + 10 * (l % 4) + i % 5 for i, l in enumerate(labels)],
        "genres": [genres[l % 4] for l in labels],
    })
    return EmbeddingSet(ids, X, meta, name)


@pytest.fixture
def blobs():
    return make_blobs()


@pytest.fixture
def blobs_set():
    return blob_set()
