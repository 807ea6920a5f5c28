"""Exploration of an embedding space: maps, sub-genres, neighbours, coarse-vs-fine comparison.

Estimators (parameters in the constructor, validation at ``fit``, results in ``*_``):
:class:`Projector`, :class:`SubgenreClusterer`, :class:`NeighbourIndex`; space
comparison in :mod:`.compare` (:class:`SpaceComparison`, the one comparison result the CLI and
the app show).

The CLI and the app call the cached steps, one per module (:mod:`.cached_map`, :mod:`.cached_clusters`,
:mod:`.cached_neighbours`, :mod:`.cached_comparison`). Every step keys its artefact on its full parameters
and the content hashes of its inputs (:func:`mmx_core.base.artefacts.cached_artefact`), looks first in the
shipped cache (``assets/cache``, filled by ``python -m mmx_core precompute``) and then in ``cache/``;
asking twice reads the file written the first time. Neighbour indexes are also kept in memory per process.

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
"""

from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.compare import SpaceComparison
from mmx_core.explore.labels import ClusterLabels, ClusterSummary, default_label
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.projection import Projector

__all__ = ["Projector", "SubgenreClusterer", "NeighbourIndex", "ClusterSummary", "ClusterLabels", "default_label",
           "SpaceComparison"]
