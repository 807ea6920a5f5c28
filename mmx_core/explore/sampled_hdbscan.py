"""HDBSCAN of a large collection: fitted on a sample, every other row assigned by ``approximate_predict``.

HDBSCAN's cost grows faster than its input (a million 10-d rows took most of the sub-genre step's
fifteen minutes here, docs/benchmarks.md), so above the size limit of :mod:`.scale` the clusters
are found on a seeded sample (the rows the 10-d reduction was fitted on) and the other rows get
the cluster, and membership strength, that hdbscan's ``approximate_predict`` gives them.

The sample's condensed tree is then extended to every row, so that the hierarchy, drilling into
a node and the two-level labels count all trailers: cluster nodes are renumbered above the full
number of rows (the root becomes ``n``, as in a tree fitted on all rows), sample points become
their rows, and each assigned row falls out of its cluster's node (noise rows out of the node
their nearest mutual-reachability neighbour in the sample falls out of) at that neighbour's
``lambda_val``. Node sizes are recounted over all rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cpu_hdbscan", "sampled_hdbscan", "TREE_COLUMNS"]

TREE_COLUMNS = ["parent", "child", "lambda_val", "child_size"]


def _model(Z: np.ndarray, min_cluster_size: int, min_samples: int | None, selection: str, epsilon: float,
           prediction_data: bool = False, memory=None):
    import hdbscan

    return hdbscan.HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                           cluster_selection_method=selection, cluster_selection_epsilon=float(epsilon),
                           core_dist_n_jobs=1, prediction_data=prediction_data,
                           **({} if memory is None else {"memory": memory})).fit(Z)


def cpu_hdbscan(Z: np.ndarray, min_cluster_size: int, min_samples: int | None, selection: str,
                epsilon: float, memory=None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """The hdbscan package's HDBSCAN of the rows of ``Z``: ``(labels int64, probabilities float32, condensed tree)``.

    ``memory`` (a ``joblib.Memory``) is hdbscan's own cache of the spanning tree: with ``min_samples`` given, the
    tree does not depend on ``min_cluster_size``, so fits of the same rows at other sizes only condense it again.
    """
    model = _model(Z, min_cluster_size, min_samples, selection, epsilon, memory=memory)
    tree = model.condensed_tree_.to_pandas()[TREE_COLUMNS].reset_index(drop=True)
    return model.labels_.astype(np.int64), model.probabilities_.astype(np.float32), tree


def sampled_hdbscan(Z: np.ndarray, rows: np.ndarray, min_cluster_size: int, min_samples: int | None, selection: str,
                    epsilon: float, memory=None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """HDBSCAN fitted on ``Z[rows]`` (sorted, unique), the other rows assigned: the result of :func:`cpu_hdbscan`
    for all rows of ``Z`` (``memory`` as there), with the condensed tree extended to them (module docstring)."""
    import hdbscan

    n, rows = len(Z), np.asarray(rows, dtype=np.int64)
    rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
    model = _model(np.ascontiguousarray(Z[rows]), min_cluster_size, min_samples, selection, epsilon,
                   prediction_data=True, memory=memory)
    labels = np.full(n, -1, dtype=np.int64)
    probabilities = np.zeros(n, dtype=np.float32)
    labels[rows], probabilities[rows] = model.labels_, model.probabilities_
    connecting = np.zeros(0, dtype=np.int64)
    if len(rest):
        got, strength, connecting = hdbscan.approximate_predict(model, np.ascontiguousarray(Z[rest]),
                                                                return_connecting_points=True)
        labels[rest], probabilities[rest] = got, strength
    sample_tree = model.condensed_tree_.to_pandas()[TREE_COLUMNS].reset_index(drop=True)
    node_of_label = {int(label): int(node) for node, label in model.prediction_data_.cluster_map.items()}
    tree = _extend_tree(sample_tree, rows, rest, labels[rest], np.asarray(connecting, dtype=np.int64),
                        node_of_label, n)
    return labels, probabilities, tree


def _extend_tree(sample_tree: pd.DataFrame, rows: np.ndarray, rest: np.ndarray, rest_labels: np.ndarray,
                 connecting: np.ndarray, node_of_label: dict[int, int], n: int) -> pd.DataFrame:
    """The sample's condensed tree over all ``n`` rows (module docstring)."""
    s = len(rows)
    parent = sample_tree["parent"].to_numpy(dtype=np.int64)
    child = sample_tree["child"].to_numpy(dtype=np.int64)
    lam = sample_tree["lambda_val"].to_numpy(dtype=np.float64)
    is_point = child < s
    fall = np.empty(s, dtype=np.int64)  # sample point -> the node it falls out of, and at which lambda
    fall_lambda = np.empty(s, dtype=np.float64)
    fall[child[is_point]], fall_lambda[child[is_point]] = parent[is_point], lam[is_point]
    found = connecting >= 0  # no neighbour when the sample has no cluster
    rest_parent = np.where(found, fall[np.maximum(connecting, 0)], s)
    rest_lambda = np.where(found, fall_lambda[np.maximum(connecting, 0)], 0.0)
    assigned = rest_labels >= 0
    if assigned.any():
        node = np.array([node_of_label[c] for c in range(int(rest_labels.max()) + 1)], dtype=np.int64)
        rest_parent[assigned] = node[rest_labels[assigned]]
    shift = n - s
    new_parent = np.concatenate([parent + shift, rest_parent + shift])
    new_child = np.concatenate([np.where(is_point, rows[np.minimum(child, s - 1)], child + shift), rest])
    node_edge = np.concatenate([~is_point, np.zeros(len(rest), dtype=bool)])
    size = np.ones(len(new_child), dtype=np.int64)
    size[node_edge] = _node_sizes(new_parent, new_child, n)[new_child[node_edge] - n]
    return pd.DataFrame({"parent": new_parent, "child": new_child, "lambda_val": np.concatenate([lam, rest_lambda]),
                         "child_size": size})


def _node_sizes(parent: np.ndarray, child: np.ndarray, n: int) -> np.ndarray:
    """Rows under each cluster node (index ``node - n``), counted through the tree's point edges."""
    n_nodes = int(max(parent.max(), child.max())) - n + 1
    sizes = np.bincount(parent[child < n] - n, minlength=n_nodes).astype(np.int64)
    edges = np.flatnonzero(child >= n)
    for e in edges[np.argsort(-child[edges])]:  # deeper nodes have larger ids: children before their parents
        sizes[parent[e] - n] += sizes[child[e] - n]
    return sizes
