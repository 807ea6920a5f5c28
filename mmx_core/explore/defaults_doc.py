"""The exploration defaults as a generated block of docs/explore.md, read from the estimators' ``defaults()``.

``python -m mmx_core docs`` writes :func:`render_explore_defaults` as the block
``explore-defaults``: every parameter of :class:`Projector`, :class:`SubgenreClusterer`
and :class:`NeighbourIndex` with the default the code uses, and the comparison's minimum
of shared ids.
"""

from __future__ import annotations

from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.compare import MIN_SHARED_IDS
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.projection import Projector

__all__ = ["BLOCK", "DOC", "render_explore_defaults", "SCALE_BLOCK", "SCALE_DOC", "render_scale_rules"]

DOC = "docs/explore.md"
BLOCK = "explore-defaults"


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def render_explore_defaults() -> str:
    """Markdown: one table per estimator (parameter, default), then the comparison's constants."""
    lines = []
    for estimator in (Projector, SubgenreClusterer, NeighbourIndex):
        lines += [f"### `{estimator.__name__}`", "", "| parameter | default |", "| --- | --- |"]
        lines += [f"| {name} | {_value(value)} |" for name, value in estimator.defaults().items()]
        lines.append("")
    lines += ["### Comparison", "", "| constant | value |", "| --- | --- |",
              f"| minimum shared ids | {MIN_SHARED_IDS} |"]
    return "\n".join(lines)


SCALE_DOC = "docs/scale.md"
SCALE_BLOCK = "scale-rules"


def render_scale_rules() -> str:
    """Markdown: the size limits of large collections, read from the code that applies them."""
    from mmx_core.explore.compare import ALL_ROWS_PROBE
    from mmx_core.explore.placement import EXACT_PLACE_MAX
    from mmx_core.explore.scale import POLICY, sample_min_cluster_size, transform_epochs
    from mmx_core.explore.warm_map import REFINE_LEARNING_RATE, WARM, refine_epochs

    index, projector, clusterer = NeighbourIndex(), Projector(), SubgenreClusterer()
    mcs = clusterer.min_cluster_size
    lines = ["| rule | value | where |", "| --- | --- | --- |",
             f"| exact neighbour search up to | {_value(index.exact_max)} rows | `NeighbourIndex.exact_max` |",
             f"| IVF-PQ when the full vectors would exceed | {_value(index.memory_limit_mb)} MB | "
             "`NeighbourIndex.memory_limit_mb` |",
             f"| HNSW (else IVF-Flat) up to | {index.hnsw_max_dim} dimensions | `NeighbourIndex.hnsw_max_dim` |",
             f"| IVF lists scanned per query | {index.n_probe} | `NeighbourIndex.n_probe` |",
             f"| IVF-PQ candidates re-ranked exactly | {index.rerank} x k | `NeighbourIndex.rerank` |",
             f"| exact UMAP kNN graph up to | {_value(projector.exact_knn_max)} rows (faiss "
             f"{POLICY.knn_index} above) | `Projector.exact_knn_max`, `ScalePolicy.knn_index` |",
             f"| 2-D map warm-started (sample fit, the rest interpolated, every row refined) above | "
             f"{_value(WARM.above)} rows (up to the sample-fit limit) | `WarmStart.above` |",
             f"| rows of its sample; nearest sample rows each other row starts from | {_value(WARM.sample)}; "
             f"{WARM.place_neighbors} | `WarmStart.sample`, `WarmStart.place_neighbors` |",
             f"| its refinement of every row | {refine_epochs(projector.n_epochs)} epochs at learning rate "
             f"{REFINE_LEARNING_RATE:g}, faiss {WARM.knn_index} graph | `warm_map.REFINE_EPOCHS`, "
             "`warm_map.REFINE_LEARNING_RATE`, `WarmStart.knn_index` |",
             f"| map fitted on a sample above | {_value(POLICY.sample_fit_above)} rows | "
             "`ScalePolicy.sample_fit_above` |",
             f"| rows of that sample | {_value(POLICY.fit_sample)} | `ScalePolicy.fit_sample` |",
             f"| epochs placing the other rows (2-D map, 10-d space) | {transform_epochs(projector.n_epochs, 1)}, "
             f"{transform_epochs(clusterer.n_epochs, 1)} (a third of the fit's) | `scale.transform_epochs` |",
             f"| exact neighbours when placing points into a map of up to | {_value(EXACT_PLACE_MAX)} rows | "
             "`placement.EXACT_PLACE_MAX` |",
             f"| HDBSCAN fitted on that sample, the rest by approximate_predict, above | "
             f"{_value(POLICY.sample_fit_above)} rows | `ScalePolicy.sample_fit_above` |",
             f"| min_cluster_size as given up to | {_value(POLICY.mcs_reference)} rows | "
             "`ScalePolicy.mcs_reference` |",
             f"| min_cluster_size above that | round(min_cluster_size x (n / {_value(POLICY.mcs_reference)})"
             f"^{POLICY.mcs_exponent:g}) | `ScalePolicy.min_cluster_size` |",
             f"| parents of the two-level labels, at most | {POLICY.max_parents} | `ScalePolicy.max_parents` |",
             f"| IVF lists scanned per row when a comparison searches every row | {ALL_ROWS_PROBE} | "
             "`compare.ALL_ROWS_PROBE` |",
             "", "min_cluster_size for the default of "
             f"{mcs} at a few sizes, and on the sample of a sampled fit:", "",
             "| rows | min_cluster_size | on the sample |", "| --- | --- | --- |"]
    for n in (7_594, 100_000, 1_000_000, 10_000_000):
        given = POLICY.min_cluster_size(mcs, n)
        sampled = sample_min_cluster_size(given, n, POLICY.fit_sample) if n > POLICY.sample_fit_above else "-"
        lines.append(f"| {_value(n)} | {given} | {sampled} |")
    return "\n".join(lines)
