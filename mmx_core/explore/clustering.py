"""Sub-genres: HDBSCAN on a clustering-friendly reduction, with its hierarchy kept.

The default reduction is UMAP to 10 dimensions (``min_dist=0``, which packs dense
regions and is what UMAP's authors advise for clustering); ``space="raw"`` clusters
the unit vectors directly (Euclidean on unit rows = cosine order).

Defaults (measured on the 7,594 published embeddings, docs/explore.md): the
"excess of mass" selection keeps only the two top-level branches of the tree there,
so leaves are selected (``selection="leaf"``) with ``min_cluster_size=40`` and
``min_samples=10``: about fifty sub-genres, about a third of the trailers as noise,
genre coherence about 2.6x that of random groups of the same sizes.

``backend`` runs both on the CPU or with cuML on a GPU (:mod:`.backends`, also for a cuML without a condensed tree).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import array_hash
from mmx_core.base.constraints import Choice, Int, Real, check_params
from mmx_core.base.errors import MMXError
from mmx_core.base.params import Params
from mmx_core.explore.backends import BACKENDS, DEFAULT_BACKEND, check_backend, cuml_hdbscan, plan_for_backend, \
    resolve_backend
from mmx_core.explore.checks import check_vectors
from mmx_core.explore.projection import Projector
from mmx_core.explore.reduction import memo, reduce_vectors
from mmx_core.explore.sampled_hdbscan import cpu_hdbscan, sampled_hdbscan
from mmx_core.explore.scale import POLICY, ScalePolicy, cluster_plan, common_ancestor, parent_groups, sample_rows
from mmx_core.explore.warm_map import NO_WARM_START

__all__ = ["SubgenreClusterer", "cluster_hierarchy"]

_SPACES: dict = {}  # the memo of :meth:`SubgenreClusterer._umap_space` (two sets' spaces per process)

log = logging.getLogger(__name__)


class SubgenreClusterer(Params):
    """HDBSCAN sub-genres of an embedding space.

    Parameters
    ----------
    min_cluster_size : int
        Smallest group HDBSCAN calls a cluster.
    min_samples : int or None
        Neighbourhood size of HDBSCAN's core distance (None = ``min_cluster_size``);
        smaller values call fewer trailers noise.
    selection : {"leaf", "eom"}
        Which clusters of the hierarchy become labels: the leaves, or the
        most persistent ("excess of mass").
    epsilon : float
        ``cluster_selection_epsilon``: clusters closer than this are merged.
    space : {"umap10", "raw"}
        Cluster a 10-d UMAP reduction (cosine-aware, PCA-50 first) or the unit vectors.
    n_components : int
        Dimensions of the UMAP reduction.
    n_neighbors : int
        UMAP neighbourhood size of the reduction.
    n_epochs : int
        UMAP epochs of the reduction (PCA-initialised); 60 gave the same clusters and
        coherence as 200 on the published set at a quarter of the cost.
    seed : int
        Seed of the reduction.
    backend : {"auto", "cpu", "cuml"}
        Where the UMAP reduction and HDBSCAN run: the CPU libraries, or cuML on a GPU; ``"auto"``
        is cuML when it imports and torch sees a GPU (:mod:`~mmx_core.explore.backends`).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each trailer, -1 for noise.
    probabilities_ : ndarray of shape (n_samples,)
        Membership strength in its cluster (0 for noise).
    condensed_tree_ : DataFrame
        HDBSCAN's condensed tree: ``parent``, ``child``, ``lambda_val``, ``child_size``
        (children below ``n_samples`` are trailers, above are clusters).
    hierarchy_ : DataFrame
        One row per cluster node of the tree: ``node``, ``parent``, ``size``,
        ``lambda_birth``, ``cluster`` (the label when selected, else -1), ``depth``.
    reduced_ : ndarray of shape (n_samples, n_components) or (n_samples, n_features)
        The vectors HDBSCAN clustered.
    n_clusters_ : int
    min_cluster_size_ : int
        The ``min_cluster_size`` HDBSCAN used (grown with the number of rows above the scale limit).
    plan_ : dict or None
        How a large collection was handled (:func:`~mmx_core.explore.scale.cluster_plan`); None below the limits.
    backend_ : str
        The backend that ran: ``"cpu"`` or ``"cuml"``.
    backends_ : dict
        The backend of each step: ``reduction`` (None when none ran here) and ``hdbscan``.

    Examples
    --------
    >>> labels = SubgenreClusterer(min_cluster_size=20).fit(X).labels_
    >>> SubgenreClusterer.defaults()["min_cluster_size"]
    40
    """

    SPACES = ("umap10", "raw")
    SELECTIONS = ("leaf", "eom")

    def __init__(self, min_cluster_size: int = 40, min_samples: int | None = 10, selection: str = "leaf",
                 epsilon: float = 0.0, space: str = "umap10", n_components: int = 10, n_neighbors: int = 15,
                 n_epochs: int = 60, seed: int = 0, backend: str = DEFAULT_BACKEND):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.selection = selection
        self.epsilon = epsilon
        self.space = space
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.n_epochs = n_epochs
        self.seed = seed
        self.backend = backend

    def validate(self) -> "SubgenreClusterer":
        """Check every parameter (:class:`MMXError` naming the bad one); returns self."""
        check_params(self, min_cluster_size=Int(2), min_samples=Int(1, none=True),
                     selection=Choice(self.SELECTIONS), epsilon=Real(0), space=Choice(self.SPACES), n_components=Int(2),
                     n_neighbors=Int(2), n_epochs=Int(1), seed=Int(0), backend=Choice(BACKENDS))
        check_backend(self.backend)
        return self

    def resolved_backend(self) -> str:
        """``"cpu"`` or ``"cuml"``: the backend a fit runs on here."""
        return resolve_backend(self.backend)

    def fit(self, X, source=None, reduced: np.ndarray | None = None,
            scale: ScalePolicy | None = None, memory=None) -> "SubgenreClusterer":
        """Cluster the rows of ``X`` (array-like of shape (n_samples, n_features)); returns self.

        ``reduced`` may pass a precomputed reduction of ``X`` (same rows) to skip UMAP. ``scale``
        holds the size limits of large collections (:data:`~mmx_core.explore.scale.POLICY` when
        None): above them ``min_cluster_size`` grows with the number of rows
        (:attr:`min_cluster_size_`) and the reduction is fitted on a sample (:attr:`plan_`).
        ``memory``: a ``joblib.Memory`` the CPU HDBSCAN keeps its spanning tree in, for fits at several
        minimum cluster sizes (:func:`~mmx_core.explore.sampled_hdbscan.cpu_hdbscan`).
        """
        self.validate()
        scale = (scale or POLICY).validate()
        need = max(self.min_cluster_size + 1, self.n_neighbors + 1 if self.space == "umap10" else 0)
        X = check_vectors(X, source=source, min_rows=need,
                          needed_for=f"clusters of at least min_cluster_size={self.min_cluster_size} "
                                     "(lower min_cluster_size)")
        self.backend_ = self.resolved_backend()
        self.backends_ = {"reduction": None, "hdbscan": self.backend_}
        if reduced is not None:
            reduced = np.asarray(reduced, dtype=np.float32)
            if len(reduced) != len(X):
                raise MMXError(f"reduced has {len(reduced)} rows but X has {len(X)}")
        elif self.space == "umap10":
            reduced = self._umap_space(X, scale)
            self.backends_["reduction"] = self.backend_
        else:
            reduced, _ = reduce_vectors(X, "cosine", None, self.seed)
        self.reduced_ = reduced
        self.plan_ = plan_for_backend(self.scale_plan(len(X), scale), self.backend_)
        self.min_cluster_size_ = scale.min_cluster_size(self.min_cluster_size, len(X))
        tree = None
        if self.backend_ == "cuml":  # pragma: no cover - needs cuML and a GPU
            self.labels_, self.probabilities_, tree = cuml_hdbscan(reduced, self.min_cluster_size_, self.min_samples,
                                                                   self.selection, self.epsilon)
        if tree is None:
            self.backends_["hdbscan"] = "cpu"
            self.labels_, self.probabilities_, tree = self._cpu_fit(reduced, memory)
        self.condensed_tree_ = tree
        self.n_clusters_ = int(self.labels_.max() + 1) if len(self.labels_) else 0
        self.hierarchy_ = cluster_hierarchy(self.condensed_tree_, self.labels_)
        log.debug("%d clusters, %.0f%% noise", self.n_clusters_, 100 * np.mean(self.labels_ < 0))
        return self

    def _umap_space(self, X: np.ndarray, scale: ScalePolicy) -> np.ndarray:
        """The UMAP space HDBSCAN runs in. It does not depend on the minimum cluster size, so it is memoised per
        process (:func:`~mmx_core.explore.reduction.memo`, on the rows' content): clusterings of the same vectors
        at other sizes (the slider, a card's neighbours, the sweep) run HDBSCAN only."""
        key = ("umap_space", array_hash(X), self.n_components, self.n_neighbors, self.n_epochs, self.seed,
               self.backend_, tuple(sorted(scale.get_params().items())))
        projector = Projector(method="umap", n_components=self.n_components, n_neighbors=self.n_neighbors,
                              min_dist=0.0, n_epochs=self.n_epochs, seed=self.seed, backend=self.backend_)
        return memo(key, lambda: projector.fit_transform(X, scale=scale, warm=NO_WARM_START), store=_SPACES, size=2)

    def scale_plan(self, n: int, scale: ScalePolicy = POLICY) -> dict | None:
        """How ``n`` rows are clustered under the size limits ``scale`` (:func:`~.scale.cluster_plan`)."""
        return cluster_plan(n, self.space, self.min_cluster_size, Projector().exact_knn_max, self.seed, scale,
                            fit_epochs=self.n_epochs)

    def _cpu_fit(self, reduced: np.ndarray, memory=None):
        sampled = (self.plan_ or {}).get("hdbscan")
        if sampled is None:
            return cpu_hdbscan(reduced, self.min_cluster_size_, self.min_samples, self.selection, self.epsilon, memory)
        rows = sample_rows(len(reduced), sampled["fit_rows"], sampled["sample_seed"])
        return sampled_hdbscan(reduced, rows, sampled["min_cluster_size"], self.min_samples, self.selection,
                               self.epsilon, memory)

    def parents(self, max_parents: int | None = None) -> pd.DataFrame:
        """Two-level labels: each cluster's parent in a cut of the condensed tree
        (:func:`~mmx_core.explore.scale.parent_groups`)."""
        return parent_groups(self.hierarchy_, max_parents or POLICY.max_parents)


def cluster_hierarchy(tree: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Cluster nodes of a condensed tree with their parent, size, birth and selected label."""
    n = len(labels)
    edges = tree[tree["child"] >= n]
    nodes = [n] + edges["child"].astype(int).tolist()   # the root is n
    parents = [-1] + edges["parent"].astype(int).tolist()
    parent = dict(zip(nodes, parents))
    depth = {n: 0}
    for node in nodes[1:]:  # parents precede children in the condensed tree
        depth[node] = depth[parent[node]] + 1
    # The node of label c is the lowest node at or above every node its members fall out of (``fall``).
    points = tree[tree["child"] < n]
    fall = np.full(n, n, dtype=np.int64)
    fall[points["child"].to_numpy(dtype=np.int64)] = points["parent"].to_numpy(dtype=np.int64)
    selected = {}
    for c in range(int(labels.max()) + 1 if n else 0):
        rows = np.flatnonzero(labels == c)
        selected[common_ancestor({int(fall[r]) for r in rows}, parent)] = c
    return pd.DataFrame({
        "node": nodes, "parent": parents, "size": [n] + edges["child_size"].astype(int).tolist(),
        "lambda_birth": [0.0] + edges["lambda_val"].astype(float).tolist(),
        "cluster": [selected.get(v, -1) for v in nodes], "depth": [depth[v] for v in nodes]})


def node_members(tree: pd.DataFrame, node: int, n: int) -> np.ndarray:
    """Rows of all trailers in the subtree of ``node``."""
    children: dict[int, list[int]] = {}
    for p, c in zip(tree["parent"].astype(int), tree["child"].astype(int)):
        children.setdefault(p, []).append(c)
    out, stack = [], [int(node)]
    while stack:
        v = stack.pop()
        for c in children.get(v, []):
            (out if c < n else stack).append(c)
    return np.sort(np.asarray(out, dtype=np.int64))


def drill(tree: pd.DataFrame, hierarchy: pd.DataFrame, node: int, n: int) -> pd.DataFrame:
    """Drill into a node of a hierarchy (the root is ``n``): DataFrame ``row``, ``node``, each row under ``node``
    with the child node it belongs to (-1: left before the split)."""
    if int(node) not in set(hierarchy["node"].astype(int)):
        raise MMXError(f"node {node} is not a cluster node of the hierarchy; "
                       f"nodes run from {n} (the root) to {int(hierarchy['node'].max())}")
    rows = node_members(tree, int(node), n)
    sub = pd.Series(-1, index=rows, dtype=np.int64)
    for child in hierarchy.loc[hierarchy["parent"] == int(node), "node"]:
        sub.loc[node_members(tree, int(child), n)] = int(child)
    return pd.DataFrame({"row": rows, "node": sub.to_numpy()})
