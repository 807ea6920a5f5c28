"""Names follow members: the cluster of a clustering that best matches a set of trailers.

A named sub-genre is a set of trailer ids, not a cluster number, so it holds in every map and every
space of the same trailers. When the clusters change (another minimum cluster size, another set of the
same trailers), the name is shown on the cluster whose members best match its own: the highest Jaccard
index ``|A & B| / |A | B|``, if it reaches :data:`MATCH_THRESHOLD`; a cluster holding most of a name that
matches nothing is said to hold it; otherwise the name is unmatched and its members are listed
(:func:`match_names`). The same matching scores a cluster's stability across parameter neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["MATCH_THRESHOLD", "Match", "best_match", "match_names", "overlap_counts", "cluster_sizes"]

MATCH_THRESHOLD = 0.5
"""Least Jaccard index at which a named sub-genre is shown on a cluster."""

NOISE = -1


@dataclass(frozen=True)
class Match:
    """Where one set of trailers lands in a clustering.

    Attributes
    ----------
    cluster : int
        The best-matching cluster (-1: none, e.g. every member is noise or absent).
    jaccard : float
        Its Jaccard index with the members present in the clustering.
    present : int
        Members found among the clustering's trailers.
    clusters_spanned : int
        Clusters holding at least one present member (noise not counted).
    """

    cluster: int
    jaccard: float
    present: int
    clusters_spanned: int

    @property
    def matched(self) -> bool:
        """Whether the name is shown on :attr:`cluster` (Jaccard at least :data:`MATCH_THRESHOLD`)."""
        return self.cluster != NOISE and self.jaccard >= MATCH_THRESHOLD


def cluster_sizes(labels: np.ndarray) -> np.ndarray:
    """Members of each cluster of ``labels`` (index: the cluster; noise left out)."""
    labels = np.asarray(labels)
    return np.bincount(labels[labels != NOISE], minlength=int(labels.max(initial=-1)) + 1)


def overlap_counts(member_rows: np.ndarray, labels: np.ndarray,
                   sizes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cluster holding members: ``(clusters, members inside it, its size)`` (noise left out).

    ``member_rows`` are row positions into ``labels`` (one cluster label per trailer, -1 = noise); ``sizes``
    is :func:`cluster_sizes` of ``labels`` when the caller matches many sets against one clustering.
    """
    labels = np.asarray(labels)
    inside = labels[np.asarray(member_rows, dtype=np.intp)]
    inside = inside[inside != NOISE]
    clusters, counts = np.unique(inside, return_counts=True)
    sizes = cluster_sizes(labels) if sizes is None else sizes
    return clusters, counts, sizes[clusters] if len(clusters) else np.zeros(0, dtype=np.int64)


def _best(n_rows: int, clusters: np.ndarray, counts: np.ndarray, sizes: np.ndarray) -> Match:
    """The :class:`Match` of a set of ``n_rows`` trailers from its :func:`overlap_counts`."""
    if not len(clusters):
        return Match(NOISE, 0.0, n_rows, 0)
    jaccard = counts / (n_rows + sizes - counts)
    best = int(np.argmax(jaccard))
    return Match(int(clusters[best]), float(jaccard[best]), n_rows, len(clusters))


def best_match(member_rows: np.ndarray, labels: np.ndarray) -> Match:
    """The cluster of ``labels`` whose members best match the trailers at ``member_rows`` (Jaccard)."""
    member_rows = np.unique(np.asarray(member_rows, dtype=np.intp))
    return _best(len(member_rows), *overlap_counts(member_rows, labels))


def match_names(named: Mapping[str, Iterable[str]], ids: Iterable[str], labels: np.ndarray) -> pd.DataFrame:
    """Where each named set of trailer ids is shown in a clustering of the trailers ``ids`` (labels in their order).

    A name **is** its best-matching cluster when their Jaccard index reaches :data:`MATCH_THRESHOLD` (the
    cluster is labelled with it). Otherwise, when at least half of its members lie in one cluster, that
    cluster **holds** it (a coarser map absorbed it, with other names or trailers that were noise; the cluster
    keeps its own label and says it holds the name). Otherwise the name is unmatched.

    Returns one row per name: ``name, cluster`` (where it is shown, else its best Jaccard match), ``jaccard``
    (with that cluster), ``matched`` (it is the cluster), ``held`` (the cluster holds it), ``members``,
    ``present``, ``clusters_spanned`` and ``absent`` (members not among ``ids``, left out of the match).
    """
    position = pd.Index(np.asarray(list(ids), dtype=str))
    labels = np.asarray(labels)
    all_sizes = cluster_sizes(labels)
    rows = []
    for name, members in named.items():
        members = pd.Index(np.asarray(list(members), dtype=str)).unique()
        found = position.get_indexer(members)
        rows_of = np.unique(found[found >= 0])
        clusters, counts, sizes = overlap_counts(rows_of, labels, all_sizes)
        match = _best(len(rows_of), clusters, counts, sizes)
        cluster, jaccard, held = match.cluster, match.jaccard, False
        if not match.matched and len(clusters) and 2 * counts.max() >= len(rows_of):
            top = int(counts.argmax())
            cluster, held = int(clusters[top]), True
            jaccard = counts[top] / (len(rows_of) + sizes[top] - counts[top])
        rows.append({"name": name, "cluster": cluster, "jaccard": round(float(jaccard), 4),
                     "matched": match.matched, "held": held, "members": len(members), "present": match.present,
                     "clusters_spanned": match.clusters_spanned, "absent": int((found < 0).sum())})
    types = {"name": object, "cluster": np.int64, "jaccard": float, "matched": bool, "held": bool,
             "members": np.int64, "present": np.int64, "clusters_spanned": np.int64, "absent": np.int64}
    return pd.DataFrame(rows, columns=list(types)).astype(types)
