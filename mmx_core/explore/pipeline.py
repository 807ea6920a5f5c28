"""Cached exploration steps: what the CLI and the app call.

Every step keys its artefact on its full parameters and the content hashes of its
inputs (:func:`mmx_core.base.artefacts.cached_artefact`), looks first in the shipped
cache (``assets/cache``, filled by ``python -m mmx_core precompute``) and then in
``cache/``; asking twice reads the file written the first time. Neighbour indexes
are also kept in memory per process.

Steps and artefacts (``<cache>/<step>/<key><suffix>``, each with ``.json`` beside it):

======================  ============  =================================================
step                    suffix        content
======================  ============  =================================================
``projection``          .parquet      ``id``, ``x``, ``y`` (``z``, ``c3``... for more dims)
``clusters``            .parquet      ``id``, ``cluster``, ``probability``
``cluster_tree``        .parquet      HDBSCAN condensed tree (parent, child, lambda_val, child_size)
``cluster_summaries``   .json         list of :class:`ClusterSummary` records
``neighbour_index``     .faiss        approximate faiss index (hnsw / ivf / ivfpq only)
``comparison``          .parquet      ``id``, ``jaccard``, ``cluster_a``, ``cluster_b``
``comparison_details``  .json         summary, movers, transitions
======================  ============  =================================================
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import array_hash, cached_artefact, file_hash, read_json, write_json
from mmx_core.base.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore._checks import check_int, check_vectors, unit_rows
from mmx_core.explore.clustering import SubgenreClusterer, cluster_hierarchy, drill
from mmx_core.explore.compare import MIN_SHARED_IDS, SpaceComparison, compare_spaces, procrustes_align
from mmx_core.explore.labels import ClusterSummary, default_label, summarise_clusters
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.projection import Projector, place_points, reduce_vectors
from mmx_core.explore.scale import POLICY, ScalePolicy, cluster_plan, map_plan, parent_groups

__all__ = [
    "projection", "clusters", "ClusterResult", "neighbours", "neighbour_index", "comparison", "place",
    "metadata_hash", "DEFAULT_PROJECTION", "DEFAULT_CLUSTERS", "clear_memory_caches",
]

log = logging.getLogger(__name__)

DEFAULT_PROJECTION = Projector.defaults()
DEFAULT_CLUSTERS = SubgenreClusterer.defaults()
DEFAULT_BACKEND = NeighbourIndex.defaults()["backend"]
COORD_NAMES = ("x", "y", "z")


def _coord_columns(n: int) -> list[str]:
    return [COORD_NAMES[i] if i < 3 else f"c{i}" for i in range(n)]


def _source(emb_set: EmbeddingSet):
    return emb_set.path if emb_set.path is not None else f"embeddings {emb_set.name!r}"


# -- projection ---------------------------------------------------------------------------------

def projection_path(emb_set: EmbeddingSet, method: str = DEFAULT_PROJECTION["method"],
                    scale: ScalePolicy | None = None, **params) -> Path:
    """Path of the cached map (computing it when absent).

    Above the size limits of ``scale`` (:data:`~mmx_core.explore.scale.POLICY` when None) the
    plan (sampled fit, faiss kNN graph) joins the cache key and the parameter JSON; below them
    the key is the projector's parameters alone, as it always was.
    """
    projector = Projector(method=method, **params).validate()
    scale = (scale or POLICY).validate()
    plan = map_plan(len(emb_set), projector.method, projector.exact_knn_max, projector.seed, scale)
    key_params = projector.get_params() if plan is None else {**projector.get_params(), "scale": plan}
    timing = {}

    def compute(tmp: Path) -> None:
        start = time.perf_counter()
        Y = projector.fit_transform(emb_set.vectors, source=_source(emb_set), scale=scale)
        timing["seconds"] = round(time.perf_counter() - start, 3)
        table = pd.DataFrame(Y, columns=_coord_columns(Y.shape[1]))
        table.insert(0, "id", emb_set.ids.astype(str))
        table.to_parquet(tmp, index=False)

    return cached_artefact("projection", key_params, {"embeddings": emb_set.content_hash}, compute,
                           suffix=".parquet", extra=lambda: {"n": len(emb_set), "dim": emb_set.dim, **timing})


def projection(emb_set: EmbeddingSet, method: str = DEFAULT_PROJECTION["method"], scale: ScalePolicy | None = None,
               **params) -> pd.DataFrame:
    """The map of ``emb_set``: DataFrame ``id``, ``x``, ``y`` (rows in the set's order).

    ``params`` are :class:`Projector` parameters (``n_components``, ``seed``,
    ``n_neighbors``, ``min_dist``, ``perplexity``, ``pca_dims``, ...).
    """
    return _read_parquet(projection_path(emb_set, method, scale=scale, **params)).copy()


@functools.lru_cache(maxsize=64)
def _read_parquet_cached(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_parquet(path)


def _read_parquet(path: Path) -> pd.DataFrame:
    return _read_parquet_cached(str(path), path.stat().st_mtime)


def clear_memory_caches() -> None:
    """Forget the tables and neighbour indexes kept in this process (the files on disk stay)."""
    _read_parquet_cached.cache_clear()
    _INDEXES.clear()


def place(emb_set: EmbeddingSet, new_vectors, method: str = DEFAULT_PROJECTION["method"], **params) -> np.ndarray:
    """Put new trailers into the cached UMAP (or PCA) map of ``emb_set`` without moving it.

    Returns ndarray of shape (m, n_components).
    """
    projector = Projector(method=method, **params).validate()
    if method == "tsne":
        raise MMXError("placing new trailers is available for method='umap' or 'pca', not t-SNE maps from the cache")
    table = projection(emb_set, method, **params)
    train_map = table.drop(columns="id").to_numpy(dtype=np.float32)
    new = check_vectors(new_vectors, source="new vectors", cosine=projector.metric == "cosine")
    if new.shape[1] != emb_set.dim:
        raise MMXError(f"new vectors have {new.shape[1]} dimensions; the map's embeddings have {emb_set.dim}")
    if method == "pca":
        return Projector(method="pca", **params).fit(emb_set.vectors).transform(new)
    Z, pca = reduce_vectors(emb_set.vectors, projector.metric, projector.pca_dims, projector.seed)
    Zn = unit_rows(new) if projector.metric == "cosine" else new
    if pca is not None:
        Zn = pca.transform(Zn).astype(np.float32)
    return place_points(Z, train_map, Zn, n_neighbors=projector.n_neighbors, min_dist=projector.min_dist,
                        seed=projector.seed)


# -- clusters -----------------------------------------------------------------------------------

@dataclass
class ClusterResult:
    """Sub-genres of an embedding set.

    Attributes
    ----------
    table : DataFrame
        ``id``, ``cluster`` (-1 = noise), ``probability``; rows in the set's order.
    summaries : list of ClusterSummary
        One per cluster, in cluster order.
    condensed_tree : DataFrame
        HDBSCAN's condensed tree (``parent``, ``child``, ``lambda_val``, ``child_size``).
    hierarchy : DataFrame
        Cluster nodes: ``node``, ``parent``, ``size``, ``lambda_birth``, ``cluster``, ``depth``.
    params : dict
    path : Path
        The cached table.
    """

    table: pd.DataFrame
    summaries: list
    condensed_tree: pd.DataFrame
    hierarchy: pd.DataFrame
    params: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def n_clusters(self) -> int:
        return int(self.table["cluster"].max() + 1) if len(self.table) else 0

    @property
    def noise_share(self) -> float:
        return float((self.table["cluster"] < 0).mean())

    def summary(self, cluster: int) -> ClusterSummary:
        for s in self.summaries:
            if s.cluster == cluster:
                return s
        raise MMXError(f"cluster {cluster} does not exist; clusters are 0..{self.n_clusters - 1}")

    def labels(self) -> dict[int, str]:
        """Cluster -> readable label (noise -1 -> "unclustered")."""
        return {-1: "unclustered", **{s.cluster: s.label for s in self.summaries}}

    def parents(self, emb_set: EmbeddingSet | None = None, max_parents: int | None = None,
                label_maker: Callable = default_label) -> tuple[pd.DataFrame, list]:
        """Two-level labels for many clusters: each cluster's parent, and the parents' summaries.

        Parents are a cut of the condensed tree (:func:`~mmx_core.explore.scale.parent_groups`);
        with ``emb_set`` (the clustered set) each parent is summarised and named like a cluster.

        Returns
        -------
        table : DataFrame ``cluster``, ``parent``, ``parent_node``, ``parent_size``
        summaries : list of ClusterSummary, one per parent (empty without ``emb_set``)
        """
        table = parent_groups(self.hierarchy, max_parents or POLICY.max_parents)
        if emb_set is None:
            return table, []
        of = dict(zip(table["cluster"], table["parent"]))
        labels = np.array([of.get(int(c), -1) for c in self.table["cluster"]], dtype=np.int64)
        summaries = summarise_clusters(labels, self.table["probability"].to_numpy(), emb_set.normalized(),
                                       emb_set.ids, emb_set.metadata, label_maker=label_maker)
        return table, summaries

    def sub_clusters(self, node: int) -> pd.DataFrame:
        """Drill into a hierarchy node: ``id``, ``node`` (child node, -1 = left before the split).

        The root is ``len(table)``; each row of ``hierarchy`` is a node.
        """
        out = drill(self.condensed_tree, self.hierarchy, node, len(self.table))
        return pd.DataFrame({"id": self.table["id"].to_numpy()[out["row"]], "node": out["node"].to_numpy()})


def metadata_hash(emb_set: EmbeddingSet) -> str:
    """Hash of the metadata columns the summaries read (genres, year, display_title)."""
    meta = emb_set.metadata
    if meta is None:
        return "none"
    cols = []
    for name in ("genres", "year", "display_title"):
        if name in meta.columns:
            values = meta[name]
            if name == "genres":
                values = ["|".join(g) for g in values]
            cols.append(np.asarray([str(v) for v in values]))
    return array_hash(*cols) if cols else "none"


def clusters(emb_set: EmbeddingSet, min_cluster_size: int = DEFAULT_CLUSTERS["min_cluster_size"],
             space: str = DEFAULT_CLUSTERS["space"], label_maker: Callable = default_label,
             scale: ScalePolicy | None = None, **params) -> ClusterResult:
    """HDBSCAN sub-genres of ``emb_set`` with summaries (see :class:`SubgenreClusterer` for ``params``).

    ``label_maker(summary)`` names each cluster: a str, or a :class:`ClusterLabels` with its short
    (map) and legend forms (see :mod:`mmx_core.explore.labels`).
    """
    clusterer = SubgenreClusterer(min_cluster_size=min_cluster_size, space=space, **params).validate()
    scale = (scale or POLICY).validate()
    plan = cluster_plan(len(emb_set), clusterer.space, clusterer.min_cluster_size, Projector().exact_knn_max,
                        clusterer.seed, scale)
    key_params = clusterer.get_params() if plan is None else {**clusterer.get_params(), "scale": plan}
    inputs = {"embeddings": emb_set.content_hash}
    fitted: dict = {}

    def fit() -> SubgenreClusterer:
        if "model" not in fitted:
            start = time.perf_counter()
            fitted["model"] = clusterer.fit(emb_set.vectors, source=_source(emb_set), scale=scale)
            fitted["seconds"] = round(time.perf_counter() - start, 3)
        return fitted["model"]

    def write_table(tmp: Path) -> None:
        model = fit()
        pd.DataFrame({"id": emb_set.ids.astype(str), "cluster": model.labels_,
                      "probability": model.probabilities_}).to_parquet(tmp, index=False)

    def write_tree(tmp: Path) -> None:
        fit().condensed_tree_.to_parquet(tmp, index=False)

    def stats() -> dict:
        model = fit()
        return {"n": len(emb_set), "n_clusters": model.n_clusters_, "min_cluster_size_used": model.min_cluster_size_,
                "noise_share": round(float(np.mean(model.labels_ < 0)), 4), "seconds": fitted.get("seconds")}

    table_path = cached_artefact("clusters", key_params, inputs, write_table, suffix=".parquet", extra=stats)
    tree_path = cached_artefact("cluster_tree", key_params, inputs, write_tree, suffix=".parquet")
    table = _read_parquet(table_path).copy()
    tree = _read_parquet(tree_path).copy()
    labels = table["cluster"].to_numpy()
    probabilities = table["probability"].to_numpy()

    def write_summaries(tmp: Path) -> None:
        summaries = summarise_clusters(labels, probabilities, emb_set.normalized(), emb_set.ids,
                                       emb_set.metadata, label_maker=label_maker)
        write_json(tmp, [s.to_dict() for s in summaries])

    maker = getattr(label_maker, "__qualname__", repr(label_maker))
    summary_path = cached_artefact(
        "cluster_summaries", {**key_params, "label_maker": f"{label_maker.__module__}.{maker}"},
        {**inputs, "clusters": file_hash(table_path), "metadata": metadata_hash(emb_set)},
        write_summaries, suffix=".json")
    # Summaries cached before they carried short/legend labels get them from the same label maker.
    summaries = [ClusterSummary.from_dict(r, label_maker) for r in read_json(summary_path)]
    hierarchy = cluster_hierarchy(tree, labels)
    return ClusterResult(table, summaries, tree, hierarchy, key_params, table_path)


# -- neighbours ---------------------------------------------------------------------------------

_INDEXES: dict[tuple, NeighbourIndex] = {}


def neighbour_index(emb_set: EmbeddingSet, backend: str = DEFAULT_BACKEND, **params) -> NeighbourIndex:
    """The neighbour index of ``emb_set``, built once per process (approximate ones cached on disk)."""
    probe = NeighbourIndex(backend=backend, **params).validate()
    memo_key = (emb_set.content_hash, tuple(probe.get_params().items()))
    if memo_key in _INDEXES:
        return _INDEXES[memo_key]
    resolved = probe.resolved_backend(len(emb_set), emb_set.dim)
    if resolved == "exact":
        index = NeighbourIndex(backend="exact", **params).build(emb_set.vectors, source=_source(emb_set))
    else:
        index_params = {**probe.get_params(), "backend": resolved}
        built: dict = {}

        def compute(tmp: Path) -> None:
            built["index"] = NeighbourIndex(**index_params).build(emb_set.vectors, source=_source(emb_set))
            built["index"].save(tmp)

        path = cached_artefact("neighbour_index", index_params, {"embeddings": emb_set.content_hash}, compute,
                               suffix=".faiss", extra=lambda: {"build_seconds": round(built["index"].build_seconds_, 2)})
        index = built.get("index") or NeighbourIndex(**index_params).load(path, emb_set.vectors)
    if len(_INDEXES) >= 8:
        _INDEXES.pop(next(iter(_INDEXES)))
    _INDEXES[memo_key] = index
    return index


def neighbours(emb_set: EmbeddingSet, trailer_id: str, k: int = 10, backend: str = DEFAULT_BACKEND) -> pd.DataFrame:
    """The ``k`` nearest trailers to ``trailer_id`` by cosine, nearest first, itself excluded.

    Returns DataFrame ``id``, ``score`` (cosine similarity), ``shared_genres`` (list of str).
    """
    row = emb_set.index_of(str(trailer_id))
    index = neighbour_index(emb_set, backend=backend)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k < len(emb_set):
        raise MMXError(f"k={k!r} is invalid; it must be an integer from 1 to {len(emb_set) - 1}")
    rows, scores = index.query(np.array([row]), k=int(k))
    rows, scores = rows[0], scores[0]
    shared = [[] for _ in rows]
    meta = emb_set.metadata
    if meta is not None and "genres" in meta.columns:
        mine = list(meta["genres"].iloc[row])
        shared = [[g for g in mine if g in set(meta["genres"].iloc[r])] for r in rows]
    return pd.DataFrame({"id": emb_set.ids[rows].astype(str), "score": scores.astype(float), "shared_genres": shared})


# -- comparison ---------------------------------------------------------------------------------

def comparison(a: EmbeddingSet, b: EmbeddingSet, k: int = 10, cluster_params: dict | None = None,
               projection_params: dict | None = None, n_movers: int = 50,
               scale: ScalePolicy | None = None) -> SpaceComparison:
    """Compare two embeddings of the same trailers: the one comparison the CLI and the app show.

    Uses the cached clusters (``cluster_params``) and maps (``projection_params``) of the
    trailers both sets hold; ids present in only one set are reported in
    ``summary["only_in_a"]`` / ``["only_in_b"]`` and left out. ``scale`` (the size limits) reaches
    the clusters and maps. The result carries each
    space's cluster summaries (:attr:`SpaceComparison.summaries_a` / ``summaries_b``).
    """
    cluster_params = dict(cluster_params or {})
    projection_params = dict(projection_params or {})
    common_a, common_b, only_a, only_b = _common_rows(a, b)
    check_int("k", k, 1, len(common_a) - 1)  # before any clustering or map is computed
    sub_a, sub_b = a.subset(common_a), b.subset(common_b)
    res_a, res_b = clusters(sub_a, scale=scale, **cluster_params), clusters(sub_b, scale=scale, **cluster_params)
    ma = projection(sub_a, scale=scale, **projection_params)[["x", "y"]].to_numpy()
    mb = projection(sub_b, scale=scale, **projection_params)[["x", "y"]].to_numpy()
    key_params = {"k": k, "n_movers": n_movers, "clusters": res_a.params,
                  "projection": Projector(**projection_params).get_params()}
    inputs = {"a": sub_a.content_hash, "b": sub_b.content_hash}
    made: dict = {}

    def run() -> SpaceComparison:
        if "result" not in made:
            made["result"] = compare_spaces(
                sub_a.vectors, sub_b.vectors, sub_a.ids, k=k, clusters_a=res_a.table["cluster"].to_numpy(),
                clusters_b=res_b.table["cluster"].to_numpy(), map_a=ma, map_b=mb, n_movers=n_movers)
        return made["result"]

    def write_table(tmp: Path) -> None:
        run().table.to_parquet(tmp, index=False)

    def write_details(tmp: Path) -> None:
        result = run()
        write_json(tmp, {"summary": result.summary, "movers": result.movers.to_dict(orient="records"),
                         "transitions": result.transitions.to_dict(orient="records")})

    table_path = cached_artefact("comparison", key_params, inputs, write_table, suffix=".parquet")
    details_path = cached_artefact("comparison_details", key_params, inputs, write_details, suffix=".json")
    if "result" in made:
        result = made["result"]
    else:
        details = read_json(details_path)
        aligned_b, _ = procrustes_align(ma, mb)
        aligned = pd.DataFrame({"id": sub_a.ids.astype(str), "x_a": ma[:, 0], "y_a": ma[:, 1],
                                "x_b": aligned_b[:, 0], "y_b": aligned_b[:, 1]})
        result = SpaceComparison(details["summary"], _read_parquet(table_path).copy(),
                                 pd.DataFrame(details["movers"]), pd.DataFrame(details["transitions"]), aligned)
    result.summary.update({"only_in_a": [str(i) for i in only_a], "only_in_b": [str(i) for i in only_b],
                           "name_a": a.name, "name_b": b.name})
    result.summaries_a, result.summaries_b = res_a.summaries, res_b.summaries
    if only_a or only_b:
        log.warning("%d ids only in %s and %d only in %s were left out of the comparison",
                    len(only_a), a.name, len(only_b), b.name)
    return result


def _common_rows(a: EmbeddingSet, b: EmbeddingSet):
    ids_a, ids_b = a.ids.astype(str), b.ids.astype(str)
    pos_b = {t: i for i, t in enumerate(ids_b)}
    common_a = np.array([i for i, t in enumerate(ids_a) if t in pos_b], dtype=np.int64)
    if len(common_a) < MIN_SHARED_IDS:
        raise MMXError(f"{a.name} and {b.name} share {len(common_a)} trailer ids; a comparison needs the same "
                       f"trailers embedded twice (at least {MIN_SHARED_IDS} shared ids)")
    common_b = np.array([pos_b[t] for t in ids_a[common_a]], dtype=np.int64)
    set_a = set(ids_a)
    only_a = [t for t in ids_a if t not in pos_b]
    only_b = [t for t in ids_b if t not in set_a]
    return common_a, common_b, only_a, only_b
