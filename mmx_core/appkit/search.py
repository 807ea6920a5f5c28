"""Forgiving title search and the genre/year filters of the app.

A query matches a title when, ignoring case, spaces and punctuation, it is a
part of the title (``"endofthe"`` finds *It's Only the End of the World*), or
when every word of the query is part of the title (``"world end"``). Results
are ranked: exact title, then title starting with the query, then the rest by
length.
"""

from __future__ import annotations

import re

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
    columns = [c for c in ("display_title", "title", "id") if c in metadata.columns]
    keys = [metadata[c].astype(str).map(normalise).to_numpy() for c in columns]
    scores = np.full(len(metadata), np.inf)
    for key in keys:
        for row, title in enumerate(key):
            if title == whole:
                score = 0.0
            elif title.startswith(whole):
                score = 1.0 + len(title) / 1000
            elif whole in title:
                score = 2.0 + len(title) / 1000
            elif len(words) > 1 and all(w in title for w in words):
                score = 3.0 + len(title) / 1000
            else:
                continue
            scores[row] = min(scores[row], score)
    rows = np.flatnonzero(np.isfinite(scores))
    rows = rows[np.argsort(scores[rows], kind="stable")]
    return rows if limit is None else rows[:limit]


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
