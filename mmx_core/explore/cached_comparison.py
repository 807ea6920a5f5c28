"""The cached comparison step: two embeddings of the same trailers compared, the one result the CLI and app show."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import cached_artefact, read_json, write_json
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore.backends import cache_params
from mmx_core.base.constraints import Int
from mmx_core.explore.cached_clusters import clusters
from mmx_core.explore.cached_map import projection
from mmx_core.explore.cached_neighbours import neighbour_index
from mmx_core.explore.cached_tables import read_table
from mmx_core.explore.compare import ALL_ROWS_PROBE, MIN_SHARED_IDS, SpaceComparison, compare_spaces, \
    procrustes_align
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.projection import Projector
from mmx_core.explore.scale import ScalePolicy

__all__ = ["comparison"]

log = logging.getLogger(__name__)


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
    Int(1, len(common_a) - 1).check("k", k)  # before any clustering or map is computed
    whole = len(common_a) == len(a) == len(b) and bool((common_b == common_a).all())
    sub_a, sub_b = (a, b) if whole else (a.subset(common_a), b.subset(common_b))
    res_a, res_b = clusters(sub_a, scale=scale, **cluster_params), clusters(sub_b, scale=scale, **cluster_params)
    ma = projection(sub_a, scale=scale, **projection_params)[["x", "y"]].to_numpy()
    mb = projection(sub_b, scale=scale, **projection_params)[["x", "y"]].to_numpy()
    key_params = _key(k, n_movers, res_a.params, projection_params, sub_a.vectors.shape)
    inputs = {"a": sub_a.content_hash, "b": sub_b.content_hash}
    made: dict = {}

    def run() -> SpaceComparison:
        if "result" not in made:
            # sets compared whole use their cached neighbour indexes (the ones Explore's clicks use)
            indexes = (neighbour_index(a), neighbour_index(b)) if whole else (None, None)
            made["result"] = compare_spaces(
                sub_a.vectors, sub_b.vectors, sub_a.ids, k=k, clusters_a=res_a.table["cluster"].to_numpy(),
                clusters_b=res_b.table["cluster"].to_numpy(), map_a=ma, map_b=mb, n_movers=n_movers,
                index_a=indexes[0], index_b=indexes[1])
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
        result = SpaceComparison(details["summary"], read_table(table_path).copy(),
                                 pd.DataFrame(details["movers"]), pd.DataFrame(details["transitions"]), aligned)
    result.summary.update({"only_in_a": [str(i) for i in only_a], "only_in_b": [str(i) for i in only_b],
                           "name_a": a.name, "name_b": b.name})
    result.summaries_a, result.summaries_b = res_a.summaries, res_b.summaries
    if only_a or only_b:
        log.warning("%d ids only in %s and %d only in %s were left out of the comparison",
                    len(only_a), a.name, len(only_b), b.name)
    return result


def _key(k: int, n_movers: int, cluster_key: dict, projection_params: dict, shape: tuple) -> dict:
    """The cache key of a comparison (the map's backend as its own key has it: omitted on the CPU)."""
    projector = Projector(**projection_params)
    key = {"k": k, "n_movers": n_movers, "clusters": cluster_key,
           "projection": cache_params(projector.get_params(), projector.resolved_backend())}
    if NeighbourIndex().resolved_backend(*shape) != "exact":  # approximate search: keyed by its probe
        key["all_rows_probe"] = ALL_ROWS_PROBE
    return key


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
