"""Readable cluster summaries and labels.

A :class:`ClusterSummary` says what sets a cluster apart from the whole collection:
genres by lift (share in the cluster / share overall, so Drama, which tags half of
all trailers, does not name everything), the years it spans, its most typical
trailers and the words its titles use unusually often. The labels are made from the
summary by a replaceable function (``label_maker``), e.g. a later LLM labeller.

A label maker returns either one string, or a :class:`ClusterLabels` with the three
forms the app draws: the full label (lists, cards), the short one (written on the
map) and the legend one. The summary stores all three as data
(``label``, ``short_label``, ``legend_label``), so figures never parse label text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["ClusterSummary", "ClusterLabels", "apply_labels", "summarise_clusters", "default_label", "genre_matrix",
           "title_tokens", "typical_order"]

STOPWORDS = frozenset(
    "the a an of and in on to for with at by from is it its my your our his her their me you we us he she they "
    "vs de la le el los las les part ii iii iv movie film trailer official".split())


@dataclass(frozen=True)
class ClusterLabels:
    """The names of one cluster.

    Attributes
    ----------
    label : str
        Full label (cluster lists, trailer cards, tables).
    short : str
        Drawn at the cluster's centre on the map; ``""`` = the full label.
    legend : str
        Legend and Sankey entries; ``""`` = the full label.
    """

    label: str
    short: str = ""
    legend: str = ""


@dataclass
class ClusterSummary:
    """What characterises one cluster.

    Attributes
    ----------
    cluster : int
    label : str
        Readable name (from ``label_maker``).
    size : int
    genre_lift : list of (genre, lift, share)
        Over-represented genres, highest lift first: ``share`` of members with the
        genre and ``lift`` = share / share in the whole collection.
    year_span : (int, int) or None
        5th and 95th percentile of release years (None without years).
    typical_ids : list of str
        Most typical members: highest membership, then closest to the centroid.
    title_words : list of str
        Words in members' titles most over-represented relative to the collection.
    typical_titles : list of str
        Display titles of ``typical_ids`` (the ids when there are no titles).
    short_label : str
        The label drawn on the map (from ``label_maker``; the full label when it gives one string).
    legend_label : str
        The label of legends and Sankey nodes (likewise).
    """

    cluster: int
    label: str
    size: int
    genre_lift: list = field(default_factory=list)
    year_span: tuple | None = None
    typical_ids: list = field(default_factory=list)
    title_words: list = field(default_factory=list)
    typical_titles: list = field(default_factory=list)
    short_label: str = ""
    legend_label: str = ""

    def to_dict(self) -> dict:
        record = asdict(self)
        record["genre_lift"] = [list(t) for t in self.genre_lift]
        record["year_span"] = None if self.year_span is None else list(self.year_span)
        return record

    @classmethod
    def from_dict(cls, record: dict, label_maker: Callable | None = None) -> "ClusterSummary":
        """Read a record of :meth:`to_dict`.

        Records written before summaries carried ``short_label`` / ``legend_label``
        get them from ``label_maker`` (the maker that wrote the record; its label is
        kept), or the full label without one.
        """
        record = dict(record)
        record["genre_lift"] = [tuple(t) for t in record.get("genre_lift", [])]
        span = record.get("year_span")
        record["year_span"] = None if span is None else tuple(span)
        summary = cls(**record)
        if not summary.short_label or not summary.legend_label:
            made = _as_labels(label_maker(summary)) if label_maker is not None else ClusterLabels(summary.label)
            summary.short_label = summary.short_label or made.short or summary.label
            summary.legend_label = summary.legend_label or made.legend or summary.label
        return summary


def _as_labels(made) -> ClusterLabels:
    if isinstance(made, ClusterLabels):
        return made
    if isinstance(made, str):
        return ClusterLabels(made)
    raise TypeError(f"a label maker returns a str or a ClusterLabels, not {type(made).__name__}")


def apply_labels(summary: ClusterSummary, label_maker: Callable) -> ClusterSummary:
    """Set ``label``, ``short_label`` and ``legend_label`` of ``summary`` from ``label_maker``; returns it.

    ``label_maker(summary)`` returns a str (used for all three) or a :class:`ClusterLabels`
    (empty short/legend forms fall back to the full label).
    """
    made = _as_labels(label_maker(summary))
    summary.label = made.label
    summary.short_label = made.short or made.label
    summary.legend_label = made.legend or made.label
    return summary


def default_label(summary: ClusterSummary) -> ClusterLabels:
    """``"Horror + Mystery · 1998-2016 · like Hide and Seek"`` and its short and legend forms.

    Up to two over-represented genres, title words when fewer than two genres stand
    out, the year span, and the most typical trailer (which tells apart clusters with
    the same genres). The short form keeps what the cluster is about (genres, title
    words); the legend form adds the year span.
    """
    genres = [g for g, lift, share in summary.genre_lift[:2] if lift >= 1.3]
    about = [" + ".join(genres)] if genres else []
    if len(genres) < 2 and summary.title_words:
        about.append("“" + " ".join(summary.title_words[:2]) + "”")
    years = []
    if summary.year_span is not None:
        lo, hi = summary.year_span
        years.append(f"{lo}" if lo == hi else f"{lo}-{hi}")
    like = [f"like {summary.typical_titles[0]}"] if summary.typical_titles else []
    fallback = f"cluster {summary.cluster}"
    return ClusterLabels(label=" · ".join(about + years + like) or fallback,
                         short=" · ".join(about) or " · ".join(like) or fallback,
                         legend=" · ".join(about + years) or fallback)


def genre_matrix(metadata: pd.DataFrame | None, n: int) -> tuple[list[str], np.ndarray]:
    """Genre vocabulary and a bool matrix (n, n_genres) of each trailer's genres."""
    if metadata is None or "genres" not in metadata.columns:
        return [], np.zeros((n, 0), dtype=bool)
    from sklearn.preprocessing import MultiLabelBinarizer

    one_hot = MultiLabelBinarizer()
    matrix = one_hot.fit_transform([list(g) if g is not None else [] for g in metadata["genres"]]).astype(bool)
    return list(one_hot.classes_), matrix


def title_tokens(title: str) -> set[str]:
    """The words of a title that summaries count: lower case, three letters or more, no :data:`STOPWORDS`."""
    return {w for w in re.findall(r"[a-z][a-z']+", str(title).lower()) if len(w) >= 3 and w not in STOPWORDS}


def summarise_clusters(
    labels: np.ndarray,
    probabilities: np.ndarray,
    unit_vectors: np.ndarray,
    ids: np.ndarray,
    metadata: pd.DataFrame | None = None,
    label_maker: Callable = default_label,
    n_genres: int = 3,
    n_typical: int = 5,
    n_words: int = 3,
) -> list[ClusterSummary]:
    """One :class:`ClusterSummary` per cluster (noise, -1, has none).

    Parameters
    ----------
    labels : ndarray of shape (n,)
    probabilities : ndarray of shape (n,)
    unit_vectors : ndarray of shape (n, d)
        Unit-length embeddings (centroid closeness breaks membership ties).
    ids : ndarray of shape (n,)
    metadata : DataFrame, optional
        Rows aligned with ``ids``; uses ``genres``, ``year`` and ``display_title`` when present.
    label_maker : callable
        ``label_maker(summary) -> str | ClusterLabels`` (see :func:`apply_labels`).
    """
    n = len(labels)
    vocab, G = genre_matrix(metadata, n)
    base_share = G.mean(axis=0) if len(vocab) else np.zeros(0)
    years = None
    if metadata is not None and "year" in metadata.columns:
        years = pd.to_numeric(metadata["year"], errors="coerce").to_numpy(dtype=float)
    titles = display = None
    if metadata is not None and "display_title" in metadata.columns:
        display = [str(t) for t in metadata["display_title"]]
        titles = [title_tokens(t) for t in display]
    doc_freq = Counter(w for ws in titles for w in ws) if titles is not None else Counter()
    summaries = []
    for c in range(int(labels.max()) + 1 if n else 0):
        rows = np.flatnonzero(labels == c)
        if not len(rows):
            continue
        lifts = _genre_lifts(G[rows], vocab, base_share, n_genres)
        order = typical_order(rows, probabilities, unit_vectors)
        typical = [str(ids[rows[i]]) for i in order[:n_typical]]
        words = _title_words(titles, rows, doc_freq, n, n_words) if titles is not None else []
        shown = [display[rows[i]] for i in order[:n_typical]] if display is not None else typical
        summary = ClusterSummary(c, "", int(len(rows)), lifts, _year_span(years, rows), typical, words, shown)
        summaries.append(apply_labels(summary, label_maker))
    return summaries


def typical_order(rows: np.ndarray, probabilities: np.ndarray, unit_vectors: np.ndarray) -> np.ndarray:
    """Positions into ``rows`` (a cluster's members), most typical first: highest membership probability, then
    closest (cosine) to the members' centroid."""
    centroid = unit_vectors[rows].mean(axis=0)
    closeness = unit_vectors[rows] @ centroid
    return np.lexsort((-closeness, -probabilities[rows]))


def _genre_lifts(member_genres: np.ndarray, vocab: list[str], base_share: np.ndarray, n_genres: int) -> list:
    """``(genre, lift, share)`` of the genres over-represented among a cluster's members, highest lift first."""
    lifts = []
    share = member_genres.mean(axis=0)
    counts = member_genres.sum(axis=0)
    for j in np.argsort(-(share / np.maximum(base_share, 1e-12))):
        lift = share[j] / base_share[j] if base_share[j] > 0 else 0.0
        if lift > 1.0 and counts[j] >= max(3, 0.1 * len(member_genres)):
            lifts.append((vocab[j], round(float(lift), 3), round(float(share[j]), 3)))
    return lifts[:n_genres]


def _year_span(years: np.ndarray | None, rows: np.ndarray) -> tuple[int, int] | None:
    """5th and 95th percentile of the members' release years (None without any year)."""
    if years is None:
        return None
    ys = years[rows][np.isfinite(years[rows])]
    return (int(np.percentile(ys, 5)), int(np.percentile(ys, 95))) if len(ys) else None


def _title_words(titles: list[set[str]], rows: np.ndarray, doc_freq: Counter, n: int, n_words: int) -> list[str]:
    """Words of the members' titles at least twice as frequent as in the whole collection, most frequent first."""
    local = Counter(w for r in rows for w in titles[r])
    scored = [((k / len(rows)) / (doc_freq[w] / n), k, w) for w, k in local.items() if k >= max(2, 0.04 * len(rows))]
    return [w for lift, k, w in sorted(scored, key=lambda t: (-t[0], -t[1], t[2])) if lift >= 2.0][:n_words]
