"""Do names follow their members? Named clusters carried to other maps of the same trailers, on planted data.

On a generated ``planted`` data set each trailer has a ground-truth sub-genre. A scholar who recognises a
cluster names it after the sub-genre most of its members share; here every cluster of the starting map
(minimum cluster size ``base_mcs``) is named so, its members kept as the name's members. The map is then
changed the ways the app changes it: another minimum cluster size, another 2-D projection, another space
of the same trailers. For each change, each name is shown on the new cluster its members best match
(:func:`mmx_core.annotations.carry.match_names`, Jaccard at least
:data:`~mmx_core.annotations.carry.MATCH_THRESHOLD`), or left unmatched. A name lands **right** when the
cluster it is shown on has the same majority sub-genre as the cluster it was given to.

The clusters come from the app's own cached step (:func:`mmx_core.explore.cached_clusters.clusters`); the caller
gives the clusters of each changed map (the benchmark reads them from the app's map, so a projection change
goes through the same code as in the app).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmx_core.annotations.carry import match_names
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.explore import cached_clusters

__all__ = ["name_by_majority", "carry_over"]


def _majority(labels: np.ndarray, truth: np.ndarray) -> dict[int, str]:
    """Cluster -> the ground-truth sub-genre most of its members have."""
    frame = pd.DataFrame({"cluster": labels, "truth": truth})
    frame = frame[frame["cluster"] >= 0]
    return frame.groupby("cluster")["truth"].agg(lambda s: s.value_counts().index[0]).to_dict()


def name_by_majority(emb_set: EmbeddingSet, truth: np.ndarray, min_cluster_size: int) -> tuple[dict, dict]:
    """Name every cluster of ``emb_set`` after its majority sub-genre (``truth`` per trailer, in the set's order).

    Returns ``(named, sub-genre of each name)``: name -> member ids, and name -> the sub-genre it was given
    for (names are ``"<sub-genre> #<cluster>"``, unique when two clusters share a majority).
    """
    table = cached_clusters.clusters(emb_set, min_cluster_size=min_cluster_size).table
    labels = table.set_index("id").loc[emb_set.ids.astype(str), "cluster"].to_numpy()
    majority = _majority(labels, truth)
    ids = emb_set.ids.astype(str)
    named = {f"{sub} #{c}": frozenset(ids[labels == c]) for c, sub in majority.items()}
    return named, {f"{sub} #{c}": sub for c, sub in majority.items()}


def carry_over(named: dict, subgenre_of: dict, truth: pd.Series,
               changes: list[tuple[str, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """For each change ``(label, ids, cluster labels of the new map)``: how many names were carried, shown on a
    cluster, and shown on the right one (``truth`` maps trailer id -> ground-truth sub-genre).

    Returns one row per change: ``change, names, matched`` (shown as a cluster's name), ``held`` (shown as held
    by a cluster), ``right`` (named the right cluster), ``right_or_held`` (or held by it), and their shares.
    """
    rows = []
    for label, ids, labels in changes:
        ids = np.asarray(ids).astype(str)
        majority = _majority(labels, truth.loc[ids].to_numpy())
        landed = match_names(named, ids, labels)
        right = np.array([majority.get(c) == subgenre_of[n] for n, c in zip(landed["name"], landed["cluster"])])
        is_right, held_right = int((right & landed["matched"]).sum()), int((right & landed["held"]).sum())
        rows.append({"change": label, "names": len(landed), "matched": int(landed["matched"].sum()),
                     "held": int(landed["held"].sum()), "right": is_right, "right_or_held": is_right + held_right,
                     "share_right": round(is_right / max(1, len(landed)), 3),
                     "share_right_or_held": round((is_right + held_right) / max(1, len(landed)), 3)})
    return pd.DataFrame(rows)
