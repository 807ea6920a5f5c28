"""Large collections: the size limits above which maps and sub-genres change strategy.

Below every limit nothing changes (the published set and the shipped cache are far below them).
Above them (docs/scale.md):

- **kNN graph**: above ``Projector.exact_knn_max`` rows the UMAP neighbour graph is built once
  with a faiss index (``knn_index``, HNSW by default: the vectors are PCA-reduced to 50
  dimensions by then) and handed to umap-learn as ``precomputed_knn``;
- **sample fit + transform**: above ``sample_fit_above`` rows UMAP (or t-SNE) is fitted on
  ``fit_sample`` rows drawn with the projector's seed and the other rows are placed with the
  fitted map's transform (:func:`~mmx_core.explore.projection.place_points`, neighbours from
  faiss) in a third of the fit's epochs (:func:`transform_epochs`, umap-learn's rule); the 10-d
  clustering space follows the same path;
- **sampled HDBSCAN**: above ``sample_fit_above`` rows HDBSCAN is fitted on the same sample (the rows
  the 10-d reduction was fitted on) with ``min_cluster_size`` scaled to the sample's share of the rows,
  and every other row gets its cluster from hdbscan's ``approximate_predict``; the condensed tree is
  extended with those rows (:mod:`.sampled_hdbscan`), so drilling into it counts every trailer;
- **min_cluster_size**: above ``mcs_reference`` rows HDBSCAN's ``min_cluster_size`` grows as
  ``round(min_cluster_size * (n / mcs_reference) ** mcs_exponent)`` (square root by default),
  so the number of clusters grows about as sqrt(n) instead of n;
- **two levels of labels**: :func:`parent_groups` cuts the condensed tree into at most
  ``max_parents`` parents, each selected cluster becoming a child of one of them.

The plan actually used is returned by :func:`map_plan` / :func:`cluster_plan`; the pipeline
adds it to the cache key and the artefact's parameter JSON (only above the limits, so keys of
smaller sets do not change).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmx_core.base.params import Params
from mmx_core.explore.checks import check_choice, check_float, check_int

__all__ = ["ScalePolicy", "POLICY", "map_plan", "cluster_plan", "parent_groups", "transform_epochs",
           "sample_min_cluster_size"]


class ScalePolicy(Params):
    """The size limits of large collections (see the module docstring).

    Parameters
    ----------
    sample_fit_above : int
        Maps of more rows are fitted on a sample and the rest placed by transform.
    fit_sample : int
        Rows of that sample.
    knn_index : {"hnsw", "ivf", "exact"}
        faiss index of the UMAP neighbour graph above ``Projector.exact_knn_max`` rows.
    mcs_reference : int
        Rows up to which ``min_cluster_size`` is used as given.
    mcs_exponent : float
        Growth of ``min_cluster_size`` with ``n`` above ``mcs_reference``.
    max_parents : int
        Parents of the two-level labels.
    """

    def __init__(self, sample_fit_above: int = 200_000, fit_sample: int = 100_000, knn_index: str = "hnsw",
                 mcs_reference: int = 20_000, mcs_exponent: float = 0.5, max_parents: int = 30):
        self.sample_fit_above = sample_fit_above
        self.fit_sample = fit_sample
        self.knn_index = knn_index
        self.mcs_reference = mcs_reference
        self.mcs_exponent = mcs_exponent
        self.max_parents = max_parents

    def validate(self) -> "ScalePolicy":
        check_int("sample_fit_above", self.sample_fit_above, 2)
        check_int("fit_sample", self.fit_sample, 2, self.sample_fit_above)
        check_choice("knn_index", self.knn_index, ("hnsw", "ivf", "exact"))
        check_int("mcs_reference", self.mcs_reference, 1)
        check_float("mcs_exponent", self.mcs_exponent, 0.0, 1.0)
        check_int("max_parents", self.max_parents, 2)
        return self

    def min_cluster_size(self, given: int, n: int) -> int:
        """HDBSCAN's ``min_cluster_size`` for ``n`` rows when ``given`` was asked for."""
        if n <= self.mcs_reference:
            return int(given)
        return max(int(given), int(round(given * (n / self.mcs_reference) ** self.mcs_exponent)))


POLICY = ScalePolicy()
"""The limits in force (the defaults of :class:`ScalePolicy`)."""


def transform_epochs(fit_epochs: int | None, n_train: int) -> int:
    """Epochs of placing points into a UMAP map fitted with ``fit_epochs`` on ``n_train`` rows: umap-learn's
    ``transform`` rule (a third of the fit's; 100 under 10,000 rows and 30 above for its default fit)."""
    if fit_epochs is None:
        return 100 if n_train < 10_000 else 30
    return max(1, int(fit_epochs) // 3)


def sample_min_cluster_size(min_cluster_size: int, n: int, fit_rows: int) -> int:
    """HDBSCAN's ``min_cluster_size`` on a sample of ``fit_rows`` out of ``n`` rows: the same share of the rows."""
    return max(2, int(round(min_cluster_size * fit_rows / n)))


def map_plan(n: int, method: str, exact_knn_max: int, seed: int, policy: ScalePolicy = POLICY,
             fit_epochs: int | None = None) -> dict | None:
    """How a map of ``n`` rows is made, or None when nothing differs from the small-set path.

    Keys: ``fit`` ("all" or "sample+transform"), ``fit_rows``, ``knn`` ("exact" or
    "faiss-<index>", UMAP only), ``sample_seed`` and, for UMAP, ``transform_epochs`` (sampled
    fits; ``fit_epochs`` are the fit's), ``policy`` (the limits).
    """
    if method == "pca" or (n <= exact_knn_max and n <= policy.sample_fit_above):
        return None
    sampled = n > policy.sample_fit_above
    fit_rows = policy.fit_sample if sampled else n
    plan = {"fit": "sample+transform" if sampled else "all", "fit_rows": int(fit_rows)}
    if method == "umap":
        plan["knn"] = "exact" if fit_rows <= exact_knn_max else f"faiss-{policy.knn_index}"
    if sampled:
        plan["sample_seed"] = int(seed)
        if method == "umap":
            plan["transform_epochs"] = transform_epochs(fit_epochs, fit_rows)
    plan["policy"] = policy.get_params()
    return plan


def cluster_plan(n: int, space: str, min_cluster_size: int, exact_knn_max: int, seed: int,
                 policy: ScalePolicy = POLICY, fit_epochs: int | None = None) -> dict | None:
    """How sub-genres of ``n`` rows are found, or None when nothing differs from the small-set path.

    ``fit_epochs`` are the 10-d reduction's. Above ``sample_fit_above`` rows the plan has ``hdbscan``:
    ``fit`` ("sample+approximate_predict"), ``fit_rows``, ``sample_seed`` and the sample's
    ``min_cluster_size``.
    """
    reduction = map_plan(n, "umap", exact_knn_max, seed, policy, fit_epochs) if space == "umap10" else None
    mcs = policy.min_cluster_size(min_cluster_size, n)
    if reduction is None and mcs == min_cluster_size and n <= policy.mcs_reference:
        return None
    rule = f"round(min_cluster_size * (n / {policy.mcs_reference}) ** {policy.mcs_exponent:g}) above " \
           f"{policy.mcs_reference} rows"
    plan = {"min_cluster_size": mcs, "min_cluster_size_rule": rule, "reduction": reduction,
            "policy": policy.get_params()}
    if n > policy.sample_fit_above:
        plan["hdbscan"] = {"fit": "sample+approximate_predict", "fit_rows": int(policy.fit_sample),
                           "sample_seed": int(seed),
                           "min_cluster_size": sample_min_cluster_size(mcs, n, policy.fit_sample)}
    return plan


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted rows of a seeded sample of ``size`` out of ``n``."""
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def parent_groups(hierarchy: pd.DataFrame, max_parents: int = POLICY.max_parents) -> pd.DataFrame:
    """Two levels of labels: cut the cluster tree into at most ``max_parents`` parents.

    Starting from the root, the largest node of the cut that has cluster nodes below it and is
    not itself a selected cluster is replaced by its children, until the cut holds
    ``max_parents`` nodes or none can be split. Each selected cluster then belongs to the
    node of the cut above it (or is one).

    Parameters
    ----------
    hierarchy : DataFrame
        :func:`~mmx_core.explore.clustering.cluster_hierarchy`'s table (``node``, ``parent``,
        ``size``, ``cluster``).

    Returns
    -------
    DataFrame ``cluster``, ``parent`` (0 = the largest parent), ``parent_node``, ``parent_size``,
    one row per selected cluster.
    """
    nodes = hierarchy["node"].astype(int).to_numpy()
    parent = dict(zip(nodes, hierarchy["parent"].astype(int)))
    size = dict(zip(nodes, hierarchy["size"].astype(int)))
    selected = {int(v): int(c) for v, c in zip(nodes, hierarchy["cluster"]) if c >= 0}
    children: dict[int, list[int]] = {}
    for v in nodes:
        if parent[v] != -1:
            children.setdefault(int(parent[v]), []).append(int(v))
    holds = _holds_selected(nodes, parent, selected)
    root = int(nodes[hierarchy["parent"].to_numpy() == -1][0])
    cut = [root]
    while len(cut) < max_parents:
        splittable = [v for v in cut if v not in selected and any(holds[c] for c in children.get(v, []))]
        if not splittable:
            break
        v = max(splittable, key=lambda u: size[u])
        below = [c for c in children[v] if holds[c]]
        if len(cut) - 1 + len(below) > max_parents:
            break
        cut = [u for u in cut if u != v] + below
    cut = sorted(cut, key=lambda u: -size[u])
    position = {v: i for i, v in enumerate(cut)}
    rows = []
    for node, cluster in sorted(selected.items(), key=lambda item: item[1]):
        up = node
        while up not in position:
            up = parent[up]
        rows.append((cluster, position[up], up, size[up]))
    return pd.DataFrame(rows, columns=["cluster", "parent", "parent_node", "parent_size"])


def _holds_selected(nodes, parent: dict, selected: dict) -> dict[int, bool]:
    """Whether each node has a selected cluster at or below it."""
    holds = {int(v): False for v in nodes}
    for node in selected:
        up = node
        while up != -1 and not holds[up]:
            holds[up] = True
            up = parent[up]
    return holds
