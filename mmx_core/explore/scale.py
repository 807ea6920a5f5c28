"""Large collections: the size limits above which maps and sub-genres change strategy.

Below every limit nothing changes (the published set and the shipped cache are far below them).
Above them (docs/scale.md):

- **kNN graph**: above ``Projector.exact_knn_max`` rows the UMAP neighbour graph is built once
  with a faiss index (``knn_index``, HNSW by default: the vectors are PCA-reduced to 50
  dimensions by then) and handed to umap-learn as ``precomputed_knn``;
- **warm-started 2-D map**: between ``WarmStart.above`` and ``sample_fit_above`` rows the 2-D map is fitted
  on a sample, the other rows interpolated and every row refined (:mod:`.warm_map`, its own limits);
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
- **two levels of labels**: :func:`parent_groups` splits the clusters, in the order of the condensed
  tree, into at most ``max_parents`` groups of neighbouring branches, each selected cluster becoming a
  child of one of them.

The plan actually used is returned by :func:`map_plan` / :func:`cluster_plan`; the pipeline
adds it to the cache key and the artefact's parameter JSON (only above the limits, so keys of
smaller sets do not change).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmx_core.base.params import Params
from mmx_core.base.constraints import Choice, Int, Real, check_params

__all__ = ["ScalePolicy", "POLICY", "map_plan", "cluster_plan", "parent_groups", "parent_of", "common_ancestor",
           "transform_epochs", "sample_min_cluster_size"]


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
        check_params(self, sample_fit_above=Int(2))
        return check_params(self, fit_sample=Int(2, self.sample_fit_above), knn_index=Choice(("hnsw", "ivf", "exact")),
                            mcs_reference=Int(1), mcs_exponent=Real(0, 1), max_parents=Int(2))

    def min_cluster_size(self, given: int, n: int) -> int:
        """HDBSCAN's ``min_cluster_size`` for ``n`` rows when ``given`` was asked for (itself up to mcs_reference)."""
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
    """Two levels of labels: the selected clusters in at most ``max_parents`` groups of neighbouring branches.

    The clusters are ordered as a depth-first walk of the cluster tree meets them, so every subtree is a
    run of that order. The run of all clusters is then split in two, again and again, the run with most
    clusters first (ties: most trailers), until there are ``max_parents`` runs. A split leaves each side
    at least a quarter of the run's clusters; among those places it keeps the ones where the two
    neighbouring clusters part high in the tree (their lowest common ancestor in the shallower half of
    the depths on offer) and takes the one closest to equal trailers. On a tree that branches evenly
    the groups are its top branches; on a tree that peels one small cluster at a time off a chain
    (common on large generated sets) they are stretches of that chain of similar numbers of clusters,
    where cutting at the top branches would leave one group holding nearly all clusters.

    Parameters
    ----------
    hierarchy : DataFrame
        :func:`~mmx_core.explore.clustering.cluster_hierarchy`'s table (``node``, ``parent``,
        ``size``, ``cluster``).

    Returns
    -------
    DataFrame ``cluster``, ``parent`` (0 = the parent with most trailers), ``parent_node`` (the lowest node
    above all its clusters), ``parent_size`` (trailers in its clusters), one row per selected cluster.
    """
    nodes = hierarchy["node"].astype(int).to_numpy()
    parent = dict(zip(nodes, hierarchy["parent"].astype(int)))
    size = dict(zip(nodes, hierarchy["size"].astype(int)))
    selected = {int(v): int(c) for v, c in zip(nodes, hierarchy["cluster"]) if c >= 0}
    order, gaps = _walk_clusters(hierarchy, selected)
    rows = np.array([size[v] for v in order], dtype=np.int64)
    runs = [(0, len(order))] if order else []
    while runs and len(runs) < max_parents:
        a, b = max(runs, key=lambda run: (run[1] - run[0], rows[run[0]:run[1]].sum()))
        if b - a < 2:
            break
        cut = _split_point(a, b, gaps, rows)
        runs = [run for run in runs if run != (a, b)] + [(a, cut), (cut, b)]
    runs.sort(key=lambda run: (-rows[run[0]:run[1]].sum(), run[0]))
    out = []
    for position, (a, b) in enumerate(runs):
        top = common_ancestor(order[a:b], parent)
        out += [(selected[v], position, top, int(rows[a:b].sum())) for v in order[a:b]]
    table = pd.DataFrame(out, columns=["cluster", "parent", "parent_node", "parent_size"])
    return table.sort_values("cluster").reset_index(drop=True)


def _walk_clusters(hierarchy: pd.DataFrame, selected: dict) -> tuple[list[int], np.ndarray]:
    """Selected cluster nodes in depth-first order, and the depth of the lowest common ancestor of each
    neighbouring pair (the shallowest node entered between the two, less one)."""
    children: dict[int, list[int]] = {}
    for v, p in zip(hierarchy["node"].astype(int), hierarchy["parent"].astype(int)):
        if p != -1:
            children.setdefault(p, []).append(v)
    root = int(hierarchy.loc[hierarchy["parent"] == -1, "node"].iloc[0])
    order, gaps, stack, entered = [], [], [(root, 0)], None
    while stack:
        v, depth = stack.pop()
        entered = depth if entered is None else min(entered, depth)
        if v in selected:
            if order:
                gaps.append(entered - 1)
            order.append(v)
            entered = None
            continue
        stack.extend((c, depth + 1) for c in sorted(children.get(v, []), reverse=True))
    return order, np.asarray(gaps, dtype=np.int64)


def _split_point(a: int, b: int, gaps: np.ndarray, rows: np.ndarray) -> int:
    """Where the run ``order[a:b]`` splits: the first cluster of its second part (see :func:`parent_groups`)."""
    margin = max(1, (b - a) // 4)
    cuts = np.arange(a + margin, b - margin + 1)
    depth = gaps[cuts - 1]
    high = cuts[depth <= depth.min() + (depth.max() - depth.min()) / 2]
    imbalance = np.abs(rows[a:b].sum() - 2 * np.cumsum(rows[a:b])[high - a - 1])
    return int(high[np.argmin(imbalance)])


def common_ancestor(nodes, parent: dict) -> int:
    """The lowest node of a tree at or above every node of ``nodes`` (``parent``: node -> its parent, the
    root -> -1)."""
    common = None
    for node in nodes:
        chain, up = [], int(node)
        while up != -1:
            chain.append(up)
            up = parent.get(up, -1)
        on_chain = set(chain)
        common = chain if common is None else [v for v in common if v in on_chain]
    return common[0]


def parent_of(parents: pd.DataFrame, clusters: np.ndarray) -> np.ndarray:
    """Each of ``clusters`` (labels, -1 = noise) mapped to its parent in :func:`parent_groups`' table (-1 for
    noise)."""
    clusters = np.asarray(clusters, dtype=np.int64)
    known = parents["cluster"].to_numpy(dtype=np.int64)
    lookup = np.full(int(max(clusters.max(initial=-1), known.max(initial=-1))) + 2, -1, dtype=np.int64)
    lookup[known + 1] = parents["parent"].to_numpy(dtype=np.int64)   # cluster + 1 -> its parent
    return lookup[clusters + 1]
