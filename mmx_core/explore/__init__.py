"""Exploration of an embedding space: maps, sub-genres, neighbours, coarse-vs-fine comparison.

Estimators (parameters in the constructor, validation at ``fit``, results in ``*_``):
:class:`Projector`, :class:`SubgenreClusterer`, :class:`NeighbourIndex`; space
comparison in :mod:`.compare` (:class:`SpaceComparison`, the one comparison result the CLI and
the app show); cached steps for the CLI and the app in :mod:`.pipeline`.
"""

from mmx_core.explore import pipeline
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.compare import SpaceComparison
from mmx_core.explore.labels import ClusterLabels, ClusterSummary, default_label
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.projection import Projector

__all__ = ["Projector", "SubgenreClusterer", "NeighbourIndex", "ClusterSummary", "ClusterLabels", "default_label",
           "SpaceComparison", "pipeline"]
