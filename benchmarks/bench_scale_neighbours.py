"""Neighbour indexes at 1,000,000 x 1024 (issue 13): build time, memory, query time, recall@10.

``python -m benchmarks scale_neighbours`` (``--quick``: 60,000 x 256).
"""

from __future__ import annotations

import gc

import numpy as np

from benchmarks.harness import Table, measure
from benchmarks.scale_sets import generated, query_ms

FULL, QUICK = (1_000_000, 1024), (60_000, 256)
SEED = 19
RERANKS = (10, 40)  # IVF-PQ candidates re-ranked exactly, as multiples of k (a query-time knob: one build)


def neighbours_table(n: int, dim: int) -> Table:
    from mmx_core.explore import NeighbourIndex
    from mmx_core.explore.neighbours import recall_at_k

    X = generated(n, dim, SEED).vectors
    queries = np.random.default_rng(1).choice(n, 200, replace=False)
    exact, t, m = measure(lambda: NeighbourIndex(backend="exact").build(X))
    truth, _ = exact.query(queries, 10)
    rows = [["exact (flat inner product)", t, m, 1.0, query_ms(exact, queries)]]
    del exact
    hnsw_max = NeighbourIndex().hnsw_max_dim
    kinds = ("hnsw", "ivf", "ivfpq") if dim <= hnsw_max else ("ivf", "ivfpq")
    for backend in kinds:
        gc.collect()
        index, t, m = measure(lambda: NeighbourIndex(backend=backend).build(X))
        lists = f", {index.n_lists_} lists, probe {index.n_probe}" if index.n_lists_ else ""
        for rerank in RERANKS if backend == "ivfpq" else (None,):
            note = ""
            if rerank is not None:
                index.rerank = rerank
                note = f", re-rank {rerank} x k{' (default)' if rerank == NeighbourIndex().rerank else ''}"
            rec = recall_at_k(index.query(queries, 10)[0], truth)
            rows.append([f"{backend}{lists}{note}", t, m, rec, query_ms(index, queries)])
        del index
    chosen = NeighbourIndex().resolved_backend(n, dim)
    skipped = "" if dim <= hnsw_max else (f" HNSW not built above {hnsw_max} dimensions (auto never chooses it "
                                          "there; its graph over 1024-d rows takes far longer to build).")
    return Table(f"Neighbour indexes at {n:,} x {dim}", ["index", "build s", "peak MB (delta)", "recall@10",
                                                           "ms per query"], rows,
                 note=(f"auto picks {chosen} at this size. Recall@10 against exact search on 200 random rows "
                       "(each excluded from its own result); single queries, averaged. Goal (issue 13) at "
                       f"1,000,000 x 1024: query <= 10 ms at recall@10 >= 0.95.{skipped}"))


def run(quick: bool = False) -> list[Table]:
    return [neighbours_table(*(QUICK if quick else FULL))]
