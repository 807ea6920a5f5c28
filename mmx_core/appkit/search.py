"""Forgiving title search and the genre/year filters of the app.

A query matches a title when, ignoring case, spaces and punctuation, it is a
part of the title (``"endofthe"`` finds *It's Only the End of the World*), or
when every word of the query is part of the title (``"world end"``). Results
are ranked: exact title, then title starting with the query, then the rest by
length.
"""

from __future__ import annotations

import re
import weakref

import numpy as np
import pandas as pd

__all__ = ["normalise", "search_titles", "filter_mask"]

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lower case, letters and digits only (``"It's Only"`` -> ``"itsonly"``)."""
    return _NON_ALNUM.sub("", str(text).lower())


def search_titles(metadata: pd.DataFrame, query: str, limit: int | None = 50) -> np.ndarray:
    """Rows of ``metadata`` whose title matches ``query``, best first.

    Parameters
    ----------
    metadata : DataFrame
        With ``display_title`` and/or ``title`` (and ``id``) columns.
    query : str
        Free text; empty or punctuation-only queries match nothing.
    limit : int or None
        Most rows returned.

    Returns
    -------
    ndarray of shape (n_matches,)
        Row positions.
    """
    whole = normalise(query)
    words = [w for w in (normalise(part) for part in str(query).split()) if w]
    if not whole:
        return np.zeros(0, dtype=np.int64)
    scores = np.full(len(metadata), np.inf)
    for key in _keys(metadata):
        _score_column(key, whole, words, scores)
    rows = np.flatnonzero(np.isfinite(scores))
    rows = rows[np.argsort(scores[rows], kind="stable")]
    return rows if limit is None else rows[:limit]


def _score_column(key: pd.Series, whole: str, words: list[str], scores: np.ndarray) -> None:
    """Lower ``scores`` where the normalised titles ``key`` match: 0 the whole title, 1 its start, 2 a part,
    3 every word a part (plus length / 1000 within each rank). Only rows that matched are looked at twice."""
    def contains(rows: np.ndarray, text: str) -> np.ndarray:
        return rows[key.iloc[rows].str.contains(text, regex=False).to_numpy(dtype=bool)]

    everything = np.arange(len(key))
    rows = contains(everything, whole)
    if len(words) > 1:
        others = np.setdiff1d(everything, rows, assume_unique=True)
        for word in words:
            others = contains(others, word)
        length = key.iloc[others].str.len().to_numpy(dtype=float) / 1000
        np.minimum.at(scores, others, 3.0 + length)
    matched = key.iloc[rows]
    score = 2.0 + matched.str.len().to_numpy(dtype=float) / 1000
    score = np.where(matched.str.startswith(whole).to_numpy(dtype=bool), score - 1.0, score)
    score = np.where((matched == whole).to_numpy(dtype=bool), 0.0, score)
    np.minimum.at(scores, rows, score)


_KEYS: dict[int, tuple] = {}


def _keys(metadata: pd.DataFrame) -> list[pd.Series]:
    """The normalised ``display_title``, ``title`` and ``id`` columns of ``metadata``, made once per frame (a
    million titles take seconds to normalise) and forgotten with it."""
    held = _KEYS.get(id(metadata))
    if held is not None and held[0]() is metadata:
        return held[1]
    columns = [c for c in ("display_title", "title", "id") if c in metadata.columns]
    keys = [metadata[c].astype(str).map(normalise).astype(object) for c in columns]
    _KEYS[id(metadata)] = (weakref.ref(metadata), keys)
    weakref.finalize(metadata, _KEYS.pop, id(metadata), None)
    return keys


def filter_mask(metadata: pd.DataFrame, genres: list[str] | tuple[str, ...] = (),
                years: tuple[int, int] | None = None) -> np.ndarray:
    """Boolean mask of trailers having any of ``genres`` (none = all) and a year within ``years``.

    Genres are read from a ``genre_list`` column when there is one, else from ``genres`` (lists).

    Trailers without a year pass only when no year range is given.
    """
    mask = np.ones(len(metadata), dtype=bool)
    column = "genre_list" if "genre_list" in metadata.columns else "genres"
    if genres and column in metadata.columns:
        wanted = set(genres)
        mask &= np.array([bool(wanted.intersection(g)) for g in metadata[column]], dtype=bool)
    if years is not None and "year" in metadata.columns:
        year = pd.to_numeric(metadata["year"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        mask &= (year >= years[0]) & (year <= years[1])
    return mask
