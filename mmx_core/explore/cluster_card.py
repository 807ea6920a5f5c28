"""The cluster card: what a person needs to judge one sub-genre before naming it.

A :class:`ClusterCard` holds a cluster's size and label, its most typical members (highest membership
probability, then closest to the members' centroid: the order of the summaries' typical trailers), how
stable it is, and the terms that set it apart (:mod:`.cluster_terms`).

Stability is measured twice:

- **persistence**, from HDBSCAN's condensed tree: the cluster's excess of mass (``sum over its points of
  lambda_leave - lambda_birth``, HDBSCAN's *stability*) divided by ``size * max lambda`` of the tree, which is
  the hdbscan package's ``cluster_persistence_`` (1: the cluster holds over all density levels; near 0: it
  appears briefly);
- the **stability score** over parameter neighbours: the same trailers re-clustered at neighbouring minimum
  cluster sizes (the app's slider step either side; each clustering is the cached sub-genre step, so it is
  computed once per set and size), and the best Jaccard index of the cluster's members with a cluster there
  (:func:`mmx_core.annotations.carry.best_match`, the matching that carries names over), averaged. 1.0: some
  cluster at each neighbouring size has exactly these members.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from mmx_core.annotations.carry import best_match
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import shipped_cache_dir
from mmx_core.explore.cached_clusters import ClusterResult, clusters, metadata_hash
from mmx_core.explore.cluster_terms import TERM_COLUMNS, TermIncidence, term_incidence, term_lifts
from mmx_core.explore.clustering import SubgenreClusterer, node_members
from mmx_core.explore.labels import typical_order
from mmx_core.explore.reduction import memo

__all__ = ["ClusterCard", "cluster_card", "excess_of_mass", "cluster_persistence", "sibling_clusters",
           "neighbour_stability", "lift_text", "N_TYPICAL"]

N_TYPICAL = 12
"""Typical members a card shows by default (a thumbnail grid of three rows of four)."""


@dataclass
class ClusterCard:
    """One cluster, summarised for judging.

    Attributes
    ----------
    cluster, label, size
        The cluster's number in its clustering, its label and its number of members.
    min_cluster_size : int
        The minimum cluster size of the clustering.
    typical_ids, typical_titles : list of str
        Most typical members first (see the module docstring).
    persistence : float
        HDBSCAN's cluster persistence, in [0, 1].
    excess_of_mass : float
        HDBSCAN's (unnormalised) cluster stability.
    stability : float or None
        Mean best Jaccard over the neighbouring minimum cluster sizes (None: no neighbour could be clustered).
    neighbour_jaccard : dict
        Neighbouring minimum cluster size -> the best Jaccard there.
    note : str
        A caveat on the stability score ("" when there is none): the clustering was read from the shipped cache
        (computed on another machine) while its neighbours were computed here, so the score also counts the
        difference between two runs of the reduction.
    siblings : list of int
        The sibling clusters the terms are compared with.
    sibling_scope : {"parent", "all", "none"}
        Siblings under the same parent of the tree, all other clusters (when the parent holds no other), or none.
    terms : DataFrame
        Columns :data:`~mmx_core.explore.cluster_terms.TERM_COLUMNS`.
    """

    cluster: int
    label: str
    size: int
    min_cluster_size: int
    typical_ids: list = field(default_factory=list)
    typical_titles: list = field(default_factory=list)
    persistence: float = float("nan")
    excess_of_mass: float = float("nan")
    stability: float | None = None
    siblings: list = field(default_factory=list)
    sibling_scope: str = "none"
    note: str = ""
    neighbour_jaccard: dict = field(default_factory=dict)
    terms: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TERM_COLUMNS))

    def to_dict(self) -> dict:
        """JSON-ready: the terms as records; an infinite or missing lift becomes None."""
        record = {f.name: getattr(self, f.name) for f in fields(self)}  # in the order of the fields
        record["neighbour_jaccard"] = {str(k): v for k, v in self.neighbour_jaccard.items()}
        record["terms"] = [{k: _finite(v) for k, v in row.items()} for row in self.terms.to_dict("records")]
        return {k: _finite(v) for k, v in record.items()}

    def text_lines(self) -> list[str]:
        """The card as lines for the terminal (a title's own control characters are the printer's to escape)."""
        stab = "n/a" if self.stability is None else f"{self.stability:.2f}"
        nbrs = ", ".join(f"mcs {m}: {j:.2f}" for m, j in self.neighbour_jaccard.items()) or "none"
        lines = [f"cluster {self.cluster}: {self.label}",
                 f"  size {self.size} (min cluster size {self.min_cluster_size})",
                 f"  persistence {self.persistence:.3f} · stability {stab} ({nbrs})",
                 *([f"  note: {self.note}"] if self.note else []),
                 f"  typical: {'; '.join(self.typical_titles[:6])}",
                 f"  terms (lift against the collection / against {len(self.siblings)} siblings, "
                 f"{self.sibling_scope}):"]
        for r in self.terms.itertuples():
            lines.append(f"    {r.kind:<7} {r.term:<20} {r.count:>4} ({100 * r.share:.0f}%)  "
                         f"x{r.lift_collection:.2f} / {lift_text(r.lift_siblings)}")
        return lines


def _finite(value):
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def lift_text(value: float, times: str = "x") -> str:
    """A lift as the card shows it: ``x1.25`` (``times`` is the sign), ``only here`` (infinite) or ``n/a`` (NaN)."""
    return "n/a" if value != value else ("only here" if math.isinf(value) else f"{times}{value:.2f}")


def excess_of_mass(tree: pd.DataFrame) -> dict[int, float]:
    """HDBSCAN's stability of every cluster node of a condensed tree: ``sum (lambda_val - birth) * child_size``
    over the node's edges, ``birth`` being the lambda at which the node split off its parent (0 for the root)."""
    parent = tree["parent"].to_numpy(dtype=np.int64)
    child = tree["child"].to_numpy(dtype=np.int64)
    lam = tree["lambda_val"].to_numpy(dtype=np.float64)
    size = tree["child_size"].to_numpy(dtype=np.float64)
    if not len(parent):
        return {}
    root = int(parent.min())
    birth = dict(zip(child[child >= root].tolist(), lam[child >= root].tolist()))
    births = np.array([birth.get(int(p), 0.0) for p in parent])
    nodes, where = np.unique(parent, return_inverse=True)
    total = np.bincount(where, weights=(lam - births) * size, minlength=len(nodes))
    return dict(zip(nodes.tolist(), total.tolist()))


def cluster_persistence(result: ClusterResult, cluster: int) -> tuple[float, float]:
    """``(persistence, excess of mass)`` of ``cluster`` (see the module docstring)."""
    node = _node_of(result, cluster)
    mass = excess_of_mass(result.condensed_tree).get(node, 0.0)
    lam = result.condensed_tree["lambda_val"].to_numpy(dtype=np.float64)
    size = int((result.table["cluster"].to_numpy() == cluster).sum())
    top = float(lam.max()) if len(lam) else 0.0
    if not math.isfinite(top) or top == 0.0 or size == 0:
        return 1.0, float(mass)
    return float(mass / (size * top)), float(mass)


def _node_of(result: ClusterResult, cluster: int) -> int:
    rows = result.hierarchy.loc[result.hierarchy["cluster"] == cluster, "node"]
    if not len(rows):
        raise MMXError(f"cluster {cluster} has no node in the condensed tree; clusters are "
                       f"0..{result.n_clusters - 1}")
    return int(rows.iloc[0])


def sibling_clusters(result: ClusterResult, cluster: int) -> tuple[list[int], str]:
    """The clusters ``cluster`` is compared with: the other selected clusters under its parent node in the
    condensed tree (``"parent"``), else every other cluster (``"all"``), else none (``"none"``)."""
    hierarchy = result.hierarchy
    parent = int(hierarchy.loc[hierarchy["node"] == _node_of(result, cluster), "parent"].iloc[0])
    others = [c for c in range(result.n_clusters) if c != cluster]
    if parent >= 0:
        under = result.table["cluster"].to_numpy()[node_members(result.condensed_tree, parent, len(result.table))]
        near = sorted(set(np.unique(under[under >= 0]).tolist()) - {int(cluster)})
        if near:
            return near, "parent"
    return (others, "all") if others else ([], "none")


def neighbour_stability(members: np.ndarray, neighbour_labels: dict[int, np.ndarray]) -> tuple[float | None, dict]:
    """Mean best Jaccard of the rows ``members`` in each clustering of ``neighbour_labels`` (size -> labels), and
    the best Jaccard per size; None without neighbours."""
    per = {int(m): round(best_match(members, labels).jaccard, 4) for m, labels in sorted(neighbour_labels.items())}
    return (round(float(np.mean(list(per.values()))), 4) if per else None), per


_INCIDENCE: dict[tuple, TermIncidence] = {}  # the sets' terms, built once per table contents in this process


def cluster_card(emb_set: EmbeddingSet, result: ClusterResult, cluster: int, neighbour_sizes: Sequence[int] = (),
                 n_typical: int = N_TYPICAL, n_terms: int = 5) -> ClusterCard:
    """The :class:`ClusterCard` of ``cluster`` of ``result`` (a clustering of ``emb_set``).

    ``neighbour_sizes`` are the minimum cluster sizes re-clustered for the stability score (the cached sub-genre
    step, same other parameters); sizes the set is too small for are skipped.
    """
    label = result.summary(cluster).label  # refuses a cluster that does not exist
    labels = result.table["cluster"].to_numpy()
    members = np.flatnonzero(labels == cluster)
    units = emb_set.vectors[members] / np.linalg.norm(emb_set.vectors[members], axis=1, keepdims=True)
    order = members[typical_order(np.arange(len(members)), result.table["probability"].to_numpy()[members], units)]
    typical = order[:n_typical]
    meta = emb_set.metadata
    titles = meta["display_title"] if meta is not None and "display_title" in meta.columns else pd.Series(emb_set.ids)
    persistence, mass = cluster_persistence(result, cluster)
    mcs = int(result.params["min_cluster_size"])
    others = set(SubgenreClusterer.param_names()) - {"min_cluster_size"}
    params = {"backend": "cpu", **{k: v for k, v in result.params.items() if k in others}}  # a CPU key has no backend
    neighbours = {int(m): clusters(emb_set, min_cluster_size=int(m), **params) for m in neighbour_sizes
                  if 2 <= int(m) < len(emb_set) and int(m) != mcs}
    stability, per = neighbour_stability(members, {m: r.table["cluster"].to_numpy() for m, r in neighbours.items()})
    siblings, scope = sibling_clusters(result, cluster)
    incidence = memo((len(emb_set), metadata_hash(emb_set)), lambda: term_incidence(emb_set.metadata, len(emb_set)),
                     store=_INCIDENCE, size=8)
    terms = term_lifts(incidence, members, np.flatnonzero(np.isin(labels, siblings)), n_terms=n_terms)
    return ClusterCard(
        cluster=int(cluster), label=label, size=len(members), min_cluster_size=mcs,
        typical_ids=[str(emb_set.ids[r]) for r in typical], typical_titles=[str(titles.iloc[r]) for r in typical],
        persistence=round(persistence, 4), excess_of_mass=round(mass, 4), stability=stability, neighbour_jaccard=per,
        siblings=siblings, sibling_scope=scope, terms=terms, note=_mixed_note(result, list(neighbours.values())))


def _mixed_note(result: ClusterResult, neighbours: list[ClusterResult]) -> str:
    """The card's ``note`` when some of the clusterings compared were shipped and others computed here."""
    root = shipped_cache_dir().resolve()
    shipped = {r.path is not None and root in Path(r.path).resolve().parents for r in [result, *neighbours]}
    if len(shipped) < 2:
        return ""
    return ("some of these clusterings come from the shipped cache (computed on another machine) and others were "
            "computed here: the stability score also counts the difference between two runs of the reduction")
