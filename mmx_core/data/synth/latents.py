"""Trailer latents of the generator: planted genre + sub-genre latents, or the published embeddings' components.

Each builder returns the genre vocabulary, one trailer-table row per trailer
and the latents ``z`` of shape (n_trailers, latent_dim); see
:mod:`mmx_core.data.synth` for the model.
"""

from __future__ import annotations

import functools

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.data.manifest import SPLITS
from mmx_core.data.synth.config import SynthConfig
from mmx_core.trailers.genres import PAPER_GENRES, PAPER_SUPPORT
from mmx_core.trailers.published import load_published

__all__ = ["LABEL_CARDINALITY", "planted_label_sets", "planted_trailers", "published_trailers"]

# P(number of genres = 1..6): mean 3.01, as the paper's "on average three labels".
LABEL_CARDINALITY: tuple[float, ...] = (0.12, 0.26, 0.30, 0.18, 0.09, 0.05)


# ---------------------------------------------------------------------------- labels
@functools.lru_cache(maxsize=8)
def _calibrated_log_weights(target: tuple[float, ...], cardinality: tuple[float, ...]) -> np.ndarray:
    """Log weights such that Gumbel-top-k sampling includes genre j with probability mean_k * target_j."""
    rng = np.random.default_rng(20210919)
    target = np.asarray(target) / np.sum(target)
    card = np.asarray(cardinality)
    want = target * np.dot(np.arange(1, len(card) + 1), card)
    n = 40000
    k = rng.choice(np.arange(1, len(card) + 1), size=n, p=card)
    gumbel = rng.gumbel(size=(n, len(target)))
    log_w = np.log(target)
    for _ in range(40):
        ranks = np.argsort(np.argsort(-(log_w + gumbel), axis=1), axis=1)
        have = (ranks < k[:, None]).mean(axis=0)
        log_w = log_w + 0.8 * (np.log(want) - np.log(np.maximum(have, 1e-6)))
        log_w -= log_w.max()
    return log_w


def planted_label_sets(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw label sets of :data:`PAPER_GENRES` with frequencies proportional to their
    :data:`mmx_core.trailers.genres.PAPER_SUPPORT` and :data:`LABEL_CARDINALITY` genres per trailer.

    Parameters
    ----------
    rng : Generator
    n : int
        Number of trailers.

    Returns
    -------
    labels : ndarray of shape (n, n_genres)
        bool multi-hot.
    primary : ndarray of shape (n,)
        Column of each trailer's first-drawn genre.
    """
    cardinality = LABEL_CARDINALITY
    log_w = _calibrated_log_weights(tuple(float(PAPER_SUPPORT[g]) for g in PAPER_GENRES), cardinality)
    k = rng.choice(np.arange(1, len(cardinality) + 1), size=n, p=np.asarray(cardinality) / np.sum(cardinality))
    keys = log_w + rng.gumbel(size=(n, len(log_w)))
    order = np.argsort(-keys, axis=1)
    ranks = np.argsort(order, axis=1)
    return ranks < k[:, None], order[:, 0]


# ---------------------------------------------------------------------------- trailer latents
def _assign_splits(rng: np.random.Generator, n: int, fractions) -> np.ndarray:
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[0] += n - counts.sum()
    split = np.repeat(np.array(SPLITS, dtype=object), counts)
    return split[rng.permutation(n)]


def _letters(k: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'aa', ... (sub-genre names)."""
    name = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        name = chr(97 + r) + name
    return name


def planted_trailers(cfg: SynthConfig, n: int, rng: np.random.Generator) -> tuple[list[str], list[dict], np.ndarray]:
    """Planted latents: genre vectors of the drawn label set plus the primary genre's sub-genre content plus noise."""
    genres = list(PAPER_GENRES)
    n_g, n_sub, dim = len(genres), cfg.subgenres_per_genre, cfg.resolved_latent_dim()
    labels, primary = planted_label_sets(rng, n)
    sub = rng.integers(0, n_sub, size=n)
    genre_vectors = rng.standard_normal((n_g, dim))
    content = rng.standard_normal((n_g, n_sub, dim))
    z = cfg.genre_strength * (labels @ genre_vectors) / np.sqrt(labels.sum(axis=1, keepdims=True))
    z += cfg.subgenre_strength * content[primary, sub] + cfg.trailer_noise * rng.standard_normal((n, dim))
    split = _assign_splits(rng, n, cfg.splits)
    years = rng.integers(1930, 2021, size=n)
    width = max(5, len(str(n)))
    # the title says nothing of the sub-genre: only the `subgenre` column holds the ground truth
    rows = [{"id": f"syn{i:0{width}d}", "title": f"Synthetic trailer {i}", "year": int(years[i]),
             "genres": [genres[j] for j in np.flatnonzero(labels[i])], "split": split[i],
             "subgenre": f"{genres[primary[i]]}/{_letters(int(sub[i]))}"} for i in range(n)]
    return genres, rows, z


@functools.lru_cache(maxsize=2)
def _published_latents(dim: int, strength: float) -> np.ndarray:
    """Top ``dim`` principal components of all published embeddings (unit rows), one global scale."""
    x = load_published().normalized().astype(np.float64)
    x -= x.mean(axis=0)
    dim = min(dim, x.shape[1])
    _, vectors = np.linalg.eigh(x.T @ x)  # ascending eigenvalues
    z = x @ vectors[:, ::-1][:, :dim]
    return z * (strength / np.sqrt((z ** 2).mean()))


def published_trailers(cfg: SynthConfig, n: int | None,
                        rng: np.random.Generator) -> tuple[list[str], list[dict], np.ndarray]:
    """Published latents: ``n`` published trailers (all when None) with their titles, years and genres."""
    published = load_published()
    total = len(published)
    n = total if n is None else n
    if n > total:
        raise MMXError(f"--trailers {n} exceeds the {total} published trailers; use at most {total}")
    rows_idx = np.arange(total) if n == total else np.sort(rng.choice(total, size=n, replace=False))
    z = _published_latents(cfg.resolved_latent_dim(), cfg.genre_strength)[rows_idx]
    meta = published.metadata.iloc[rows_idx].reset_index(drop=True)
    genres = sorted({g for gs in published.metadata["genres"] for g in gs})
    split = _assign_splits(rng, n, cfg.splits)
    rows = [{"id": str(record.id), "title": str(record.title),
             "year": None if record.year is None or record.year != record.year or str(record.year) == "<NA>"
             else int(record.year), "genres": list(record.genres), "split": split[i]}
            for i, record in enumerate(meta.itertuples(index=False))]
    empty = [r["id"] for r in rows if not r["genres"]]
    if empty:
        raise MMXError(f"published trailers without genres: {empty[:5]}; the bundled assets look damaged")
    return genres, rows, z
