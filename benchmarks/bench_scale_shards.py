"""Per-shard costs of a distributed run (issue 13): one 1/100 slice of a 10,000,000 x 256 collection.

``python -m benchmarks scale_shards`` (``--quick``: a slice of a 1,000,000-row collection). The slice
(100,000 rows at full size) is generated on its own; docs/scale.md multiplies its costs out for a
collection of 10^7 trailers spread over a hundred workers.
"""

from __future__ import annotations

import os

import numpy as np

from benchmarks.harness import Table, measure
from benchmarks.scale_sets import generated

FULL, QUICK = (10_000_000, 256), (1_000_000, 256)  # the collection; one shard is 1/100 of it


def shard_table(n: int, dim: int) -> Table:
    """Costs of one 1/100 shard of an ``n``-row collection: what one worker of a distributed run does."""
    from mmx_core.explore import NeighbourIndex, Projector
    from mmx_core.explore.placement import place_points
    from mmx_core.explore.scale import POLICY

    shard = generated(max(n // 100, 2_000), dim, seed=23).vectors
    index, t_build, m_build = measure(lambda: NeighbourIndex(backend="ivf").build(shard))
    rows = np.arange(len(shard))
    _, t_query, _ = measure(lambda: index.query(rows, 10))
    sample = generated(min(POLICY.fit_sample, 20_000), dim, seed=29).vectors
    projector = Projector()
    Ys = projector.fit_transform(sample)
    Zs = projector.pca_.transform(shard / np.linalg.norm(shard, axis=1, keepdims=True)).astype(np.float32)
    _, t_place, m_place = measure(lambda: place_points(projector.reduced_, Ys, Zs, knn="hnsw"))
    return Table(
        f"Per-shard costs: one 1/100 slice ({len(shard):,} x {dim})",
        ["task of one worker", "seconds", "peak MB (delta)"],
        [["build the shard's IVF index", t_build, m_build],
         ["search the shard for every row of the slice (k=10)", t_query, float("nan")],
         [f"place the slice into a map fitted on {len(sample):,} rows", t_place, m_place]],
        note=(f"One shard of a {n:,}-trailer collection split a hundred ways; docs/scale.md multiplies these "
              f"out. On {os.cpu_count()} shared cores."),
    )


def run(quick: bool = False) -> list[Table]:
    return [shard_table(*(QUICK if quick else FULL))]
