"""The cached minimum-cluster-size sweep of an embedding set: computed once per set and parameters.

Artefact ``mcs_sweep/<key>.parquet`` (columns ``mcs``, ``n_clusters``, ``noise_share``) with its parameter JSON
(the sizes, the other clusterer parameters, the set's content hash, the seconds it took); see
:mod:`mmx_core.explore.mcs_sweep` for what is computed and the cliff rule.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import pandas as pd

from mmx_core.base.artefacts import cached_artefact
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.explore.backends import backend_record, resolve_for_cache
from mmx_core.explore.cached_clusters import DEFAULT_CLUSTERS
from mmx_core.explore.cached_tables import read_table, source_of
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.mcs_sweep import check_sizes, sweep_counts
from mmx_core.explore.scale import POLICY, ScalePolicy

__all__ = ["mcs_sweep", "sweep_path"]


def _key(emb_set: EmbeddingSet, values: Sequence[int], params: dict, scale: ScalePolicy | None) -> tuple:
    """The sizes, backend, cache key, other clusterer parameters and validated size limits of a sweep."""
    scale = (scale or POLICY).validate()
    sizes = check_sizes(values)
    clusterer = SubgenreClusterer(min_cluster_size=sizes[0], **params).validate()
    used, key = resolve_for_cache(clusterer, clusterer.scale_plan(len(emb_set), scale))
    key.pop("min_cluster_size")
    key.pop("scale", None)                     # the plan of each size differs; the policy's limits key it instead
    key["scale_policy"] = scale.get_params()
    other = {k: v for k, v in clusterer.get_params().items() if k != "min_cluster_size"}
    return sizes, used, {**key, "values": sizes}, other, scale


def mcs_sweep(emb_set: EmbeddingSet, values: Sequence[int], space: str = DEFAULT_CLUSTERS["space"],
              scale: ScalePolicy | None = None, **params) -> pd.DataFrame:
    """Clusters and noise share of ``emb_set`` at each minimum cluster size of ``values``, cached on disk.

    ``space`` and ``params`` are the other :class:`SubgenreClusterer` parameters (its defaults otherwise), as
    for :func:`~mmx_core.explore.cached_clusters.clusters`. The first call computes one reduction and one
    spanning tree, condensed at each size (:func:`~mmx_core.explore.mcs_sweep.sweep_counts`), and writes the
    artefact; later calls read it.

    Returns
    -------
    DataFrame ``mcs``, ``n_clusters``, ``noise_share``, one row per size in increasing order.
    """
    sizes, used, key, other, scale = _key(emb_set, values, {"space": space, **params}, scale)
    timing: dict = {}

    def write(tmp: Path) -> None:
        start = time.perf_counter()
        table = sweep_counts(emb_set.vectors, sizes, other, source=source_of(emb_set), scale=scale)
        timing["seconds"] = round(time.perf_counter() - start, 3)
        table.to_parquet(tmp, index=False)

    path = cached_artefact("mcs_sweep", key, {"embeddings": emb_set.content_hash}, write, suffix=".parquet",
                           extra=lambda: {"n": len(emb_set), "seconds": timing.get("seconds"), **backend_record(used)})
    return read_table(path).copy()


def sweep_path(emb_set: EmbeddingSet, values: Sequence[int], space: str = DEFAULT_CLUSTERS["space"],
               scale: ScalePolicy | None = None, **params) -> Path | None:
    """The sweep's artefact when it has been computed, else None (computes nothing)."""
    key = _key(emb_set, values, {"space": space, **params}, scale)[2]
    return cached_artefact("mcs_sweep", key, {"embeddings": emb_set.content_hash}, None, suffix=".parquet")
