"""The cached sub-genre step: HDBSCAN clusters of an embedding set, their tree and their readable summaries."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import array_hash, cached_artefact, file_hash, read_json, write_json
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore.backends import backend_record, resolve_for_cache
from mmx_core.explore.cached_tables import read_table, source_of
from mmx_core.explore.clustering import SubgenreClusterer, cluster_hierarchy, drill
from mmx_core.explore.labels import ClusterSummary, default_label, summarise_clusters
from mmx_core.explore.scale import POLICY, ScalePolicy, parent_groups, parent_of

__all__ = ["clusters", "ClusterResult", "metadata_hash", "DEFAULT_CLUSTERS"]

DEFAULT_CLUSTERS = SubgenreClusterer.defaults()


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
        labels = parent_of(table, self.table["cluster"].to_numpy())
        inputs = {"embeddings": emb_set.content_hash, "parents": array_hash(labels)}  # the cut is in the hash
        return table, _summaries(emb_set, labels, self.table["probability"].to_numpy(), self.params, inputs,
                                 label_maker, kind="parent_summaries")

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
    cols = [np.asarray(["|".join(v) if name == "genres" else str(v) for v in meta[name]])
            for name in ("genres", "year", "display_title") if name in meta.columns]
    return array_hash(*cols) if cols else "none"


def clusters(emb_set: EmbeddingSet, min_cluster_size: int = DEFAULT_CLUSTERS["min_cluster_size"],
             space: str = DEFAULT_CLUSTERS["space"], label_maker: Callable = default_label,
             scale: ScalePolicy | None = None, **params) -> ClusterResult:
    """HDBSCAN sub-genres of ``emb_set`` with summaries (see :class:`SubgenreClusterer` for ``params``).

    ``label_maker(summary)`` names each cluster: a str, or a :class:`ClusterLabels` with its short
    (map) and legend forms (see :mod:`mmx_core.explore.labels`). ``backend`` is resolved first and keyed as
    :func:`~mmx_core.explore.backends.cache_params` says; the JSON names what ran.
    """
    clusterer = SubgenreClusterer(min_cluster_size=min_cluster_size, space=space, **params).validate()
    scale = (scale or POLICY).validate()
    used, key_params = resolve_for_cache(clusterer, clusterer.scale_plan(len(emb_set), scale))
    inputs = {"embeddings": emb_set.content_hash}
    fitted: dict = {}

    def fit() -> SubgenreClusterer:
        if "model" not in fitted:
            start = time.perf_counter()
            fitted["model"] = clusterer.fit(emb_set.vectors, source=source_of(emb_set), scale=scale)
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
                "noise_share": round(float(np.mean(model.labels_ < 0)), 4), "seconds": fitted.get("seconds"),
                **backend_record(used, model.backends_)}

    table_path = cached_artefact("clusters", key_params, inputs, write_table, suffix=".parquet", extra=stats)
    tree_path = cached_artefact("cluster_tree", key_params, inputs, write_tree, suffix=".parquet",
                                extra=lambda: backend_record(used, fit().backends_))
    table = read_table(table_path).copy()
    tree = read_table(tree_path).copy()
    summaries = _summaries(emb_set, table["cluster"].to_numpy(), table["probability"].to_numpy(), key_params,
                           {**inputs, "clusters": file_hash(table_path)}, label_maker)
    hierarchy = cluster_hierarchy(tree, table["cluster"].to_numpy())
    return ClusterResult(table, summaries, tree, hierarchy, key_params, table_path)


def _summaries(emb_set: EmbeddingSet, labels: np.ndarray, probabilities: np.ndarray, key_params: dict, inputs: dict,
               label_maker: Callable, kind: str = "cluster_summaries") -> list[ClusterSummary]:
    """The cached summaries of the groups ``labels`` (-1: none) of a clustering: of its clusters, or of their
    parents (``kind``); keyed on the clustering, the labels' source in ``inputs`` and the set's metadata."""

    def write_summaries(tmp: Path) -> None:
        summaries = summarise_clusters(labels, probabilities, emb_set.normalized(), emb_set.ids,
                                       emb_set.metadata, label_maker=label_maker)
        write_json(tmp, [s.to_dict() for s in summaries])

    maker = getattr(label_maker, "__qualname__", repr(label_maker))
    summary_path = cached_artefact(
        kind, {**key_params, "label_maker": f"{label_maker.__module__}.{maker}"},
        {**inputs, "metadata": metadata_hash(emb_set)}, write_summaries, suffix=".json")
    # Summaries cached before they carried short/legend labels get them from the same label maker.
    return [ClusterSummary.from_dict(r, label_maker) for r in read_json(summary_path)]
