"""The terms that set a cluster apart: title words, decades and genres, each with two lifts.

A term is a yes/no property of a trailer: it has a genre, it was released in a decade, its display title uses
a word (:func:`~mmx_core.explore.labels.title_tokens`). For a cluster, a term's

- **lift against the collection** is its share among the members over its share among all trailers (noise
  included), the lift the cluster summaries use for genres;
- **lift against the siblings** is its share among the members over its share among the members of the
  sibling clusters (the other clusters under the same parent of HDBSCAN's tree; see
  :func:`~mmx_core.explore.cluster_card.sibling_clusters`): what tells the cluster apart from its closest
  relatives. It is infinite when no sibling trailer has the term.

Shares of terms are counted once per collection (:class:`TermIncidence`, a sparse trailers x terms matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from mmx_core.explore.labels import genre_matrix, title_tokens

__all__ = ["TermIncidence", "term_incidence", "term_lifts", "TERM_KINDS", "MIN_SUPPORT", "TERM_COLUMNS"]

TERM_KINDS = ("word", "decade", "genre")
MIN_SUPPORT = {"word": (2, 0.04), "decade": (3, 0.10), "genre": (3, 0.10)}
"""Kind -> (least members, least share of the members) holding a term before it is shown: the rules by which the
cluster summaries pick title words and genres."""
TERM_COLUMNS = ["kind", "term", "count", "share", "lift_collection", "share_siblings", "lift_siblings"]


@dataclass(frozen=True)
class TermIncidence:
    """Which trailers have which terms.

    Attributes
    ----------
    kinds : ndarray of shape (n_terms,)
        One of :data:`TERM_KINDS` per term.
    terms : ndarray of shape (n_terms,)
        The word, the decade (``"1970s"``) or the genre.
    matrix : sparse CSR matrix of shape (n_trailers, n_terms)
        1 where the trailer has the term.
    """

    kinds: np.ndarray
    terms: np.ndarray
    matrix: sparse.csr_matrix

    def counts(self, rows: np.ndarray) -> np.ndarray:
        """Trailers among ``rows`` with each term: ndarray of shape (n_terms,)."""
        return np.asarray(self.matrix[np.asarray(rows, dtype=np.intp)].sum(axis=0)).ravel().astype(np.int64)


def term_incidence(metadata: pd.DataFrame | None, n: int) -> TermIncidence:
    """The :class:`TermIncidence` of ``n`` trailers from their table (``display_title``, ``year``, ``genres`` when
    present; without a table there are no terms)."""
    from sklearn.preprocessing import MultiLabelBinarizer

    per_kind = {kind: [[] for _ in range(n)] for kind in TERM_KINDS}
    if metadata is not None and "display_title" in metadata.columns:
        per_kind["word"] = [sorted(title_tokens(t)) for t in metadata["display_title"]]
    if metadata is not None and "year" in metadata.columns:
        years = pd.to_numeric(metadata["year"], errors="coerce").to_numpy(dtype=float)
        per_kind["decade"] = [[f"{int(y) // 10 * 10}s"] if np.isfinite(y) else [] for y in years]
    vocab, G = genre_matrix(metadata, n)
    per_kind["genre"] = [[vocab[j] for j in np.flatnonzero(row)] for row in G]
    blocks, kinds, terms = [], [], []
    for kind in TERM_KINDS:
        one_hot = MultiLabelBinarizer(sparse_output=True)
        blocks.append(one_hot.fit_transform(per_kind[kind]).astype(np.int8))
        kinds += [kind] * len(one_hot.classes_)
        terms += list(one_hot.classes_)
    return TermIncidence(np.asarray(kinds, dtype=object), np.asarray(terms, dtype=object),
                         sparse.hstack(blocks, format="csr"))


def term_lifts(incidence: TermIncidence, members: np.ndarray, siblings: np.ndarray, n_terms: int = 5,
               min_support: dict | None = None) -> pd.DataFrame:
    """The terms over-represented among ``members`` (rows), with their lifts against the collection and against
    ``siblings`` (rows of the sibling clusters' members).

    Parameters
    ----------
    incidence : TermIncidence
        Of the whole collection.
    members, siblings : ndarray of int
        Row positions; ``siblings`` may be empty (then ``share_siblings`` and ``lift_siblings`` are NaN).
    n_terms : int
        Most terms kept of each kind.
    min_support : dict, optional
        :data:`MIN_SUPPORT` by default.

    Returns
    -------
    DataFrame with columns :data:`TERM_COLUMNS`: terms held by enough members (``min_support``) whose lift
    against the collection is above 1, at most ``n_terms`` per kind (words, then decades, then genres), each kind
    ordered by the smaller of its two lifts (what sets the cluster apart from both), then by count.
    """
    support = min_support or MIN_SUPPORT
    members = np.asarray(members, dtype=np.intp)
    n, size = incidence.matrix.shape[0], len(members)
    if not size or not len(incidence.terms):
        return pd.DataFrame(columns=TERM_COLUMNS)
    count = incidence.counts(members)
    share = count / size
    overall = incidence.counts(np.arange(n)) / n
    lift = np.divide(share, overall, out=np.zeros_like(share), where=overall > 0)
    if len(siblings):
        sib_share = incidence.counts(siblings) / len(siblings)
        with np.errstate(divide="ignore", invalid="ignore"):
            sib_lift = np.where(sib_share > 0, share / np.where(sib_share > 0, sib_share, 1), np.inf)
    else:
        sib_share = sib_lift = np.full(len(share), np.nan)
    least = np.array([max(support[k][0], support[k][1] * size) for k in incidence.kinds])
    keep = (count >= least) & (lift > 1.0)
    table = pd.DataFrame({"kind": incidence.kinds, "term": incidence.terms, "count": count, "share": share,
                          "lift_collection": lift, "share_siblings": sib_share, "lift_siblings": sib_lift})[keep]
    table["_rank"] = np.fmin(table["lift_collection"], table["lift_siblings"])   # fmin: NaN sibling lift is ignored
    table["_kind"] = table["kind"].map({k: i for i, k in enumerate(TERM_KINDS)})
    table = table.sort_values(["_kind", "_rank", "count", "term"], ascending=[True, False, False, True])
    table = table.groupby("kind", sort=False).head(n_terms)
    return table[TERM_COLUMNS].reset_index(drop=True)
