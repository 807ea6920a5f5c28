"""Map + sub-genres at 100,000 x 1024 against umap-learn's defaults + the same HDBSCAN (issue 13).

``python -m benchmarks scale_map`` (``--quick``: 20,000 x 256). Both sides in the same run, numba
compiled before timing, the pipeline with a cold cache; trustworthiness on a fixed 2,000-row sample.
"""

from __future__ import annotations

from benchmarks.harness import LAST_CPU, Table, baseline_runs, fresh_cache, measure, no_shipped_cache, trust
from benchmarks.scale_sets import generated

FULL, QUICK = (100_000, 1024), (20_000, 256)
SEED = 13


def baseline_table(n: int, dim: int) -> Table:
    import hdbscan  # noqa: F401 - imported before anything is timed
    import umap

    from mmx_core.explore import cached_clusters, cached_map

    emb = generated(n, dim, SEED)
    X, Xn = emb.vectors, emb.normalized()
    umap.UMAP(n_epochs=10).fit_transform(X[:300])  # numba compiled before timing, for both sides
    with no_shipped_cache(), fresh_cache():
        (table, result), t_ours, m_ours = measure(lambda: (cached_map.projection(emb), cached_clusters.clusters(emb)))
        c_ours = LAST_CPU["seconds"]
    base = baseline_runs(X, result.params.get("scale", {}).get("min_cluster_size"))
    tw_ours, tw_base = trust(Xn, table[["x", "y"]].to_numpy()), trust(Xn, base["Y"])
    base_t, base_c = base["seconds"] + base["seconds10"], base["cpu"] + base["cpu10"]
    return Table(
        f"Map + sub-genres at {n:,} x {dim}: pipeline (cold) vs umap-learn defaults + the same HDBSCAN",
        ["run", "wall s", "CPU s", "peak MB (delta)", "clusters", "trustworthiness", "speed ratio (wall)"],
        [
            ["baseline: UMAP() 2-D + UMAP(n_components=10) + HDBSCAN", base_t, base_c, max(base["mb"], base["mb10"]),
             int(base["labels"].max()) + 1, tw_base, 1.0],
            ["pipeline cold: map + sub-genres + summaries", t_ours, c_ours, m_ours, result.n_clusters, tw_ours,
             base_t / t_ours],
            ["trustworthiness difference (pipeline - baseline)", float("nan"), float("nan"), float("nan"),
             float("nan"), tw_ours - tw_base, float("nan")],
        ],
        note=("Goal (issue 13): >= 3x faster at trustworthiness within 0.01. Trustworthiness: scikit-learn, "
              "k=10, cosine, on a fixed 2,000-row sample, both methods. numba compiled before timing."),
    )


def run(quick: bool = False) -> list[Table]:
    return [baseline_table(*(QUICK if quick else FULL))]
