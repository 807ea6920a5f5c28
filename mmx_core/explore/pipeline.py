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
``parent_summaries``    .json         the same for the parents of many clusters (two-level labels)
``neighbour_index``     .faiss        approximate faiss index (hnsw / ivf / ivfpq only)
``comparison``          .parquet      ``id``, ``jaccard``, ``cluster_a``, ``cluster_b``
``comparison_details``  .json         summary, movers, transitions
======================  ============  =================================================

The steps live one per module (``cached_map``, ``cached_clusters``, ``cached_neighbours``,
``cached_comparison``); this module is their one entry point.
"""

from __future__ import annotations

from mmx_core.explore.cached_clusters import DEFAULT_CLUSTERS, ClusterResult, clusters, metadata_hash
from mmx_core.explore.cached_comparison import comparison
from mmx_core.explore.cached_map import COORD_NAMES, DEFAULT_PROJECTION, place, projection, projection_path
from mmx_core.explore.cached_neighbours import DEFAULT_BACKEND, clear_indexes, neighbour_index, neighbours
from mmx_core.explore.cached_tables import clear_tables

__all__ = [
    "projection", "clusters", "ClusterResult", "neighbours", "neighbour_index", "comparison", "place",
    "metadata_hash", "DEFAULT_PROJECTION", "DEFAULT_CLUSTERS", "clear_memory_caches",
    "projection_path", "DEFAULT_BACKEND", "COORD_NAMES",
]


def clear_memory_caches() -> None:
    """Forget the tables and neighbour indexes kept in this process (the files on disk stay)."""
    clear_tables()
    clear_indexes()
