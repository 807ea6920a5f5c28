"""Sampled HDBSCAN against HDBSCAN fitted on every row, on the same 10-d space (issue 13).

``python -m benchmarks scale_sampling`` (``--quick``: 30,000 rows). Above ``ScalePolicy.sample_fit_above`` the
pipeline fits HDBSCAN on a sample and assigns the other rows with ``approximate_predict``
(:mod:`mmx_core.explore.sampled_hdbscan`). The two are compared here on the million generated 256-d trailers
of ``scale_pipeline`` (the same seed), where the sample is a tenth of the rows. Both cluster the same 10-d UMAP space (made once, the pipeline's way) with the
``min_cluster_size`` the pipeline would use for the rows each fit sees.
"""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Table, measure
from benchmarks.scale_sets import generated

FULL, QUICK = 1_000_000, 30_000
SEED = 17  # the set of scale_pipeline
SAMPLE_SHARE = 10  # one row in ten fits, as at a million rows with the default sample


def sampling_table(n: int) -> Table:
    from sklearn.metrics import adjusted_rand_score

    from mmx_core.explore import SubgenreClusterer
    from mmx_core.explore.projection import Projector
    from mmx_core.explore.sampled_hdbscan import cpu_hdbscan, sampled_hdbscan
    from mmx_core.explore.scale import POLICY, ScalePolicy, sample_min_cluster_size, sample_rows

    emb = generated(n, 256, SEED)
    c = SubgenreClusterer()
    policy = ScalePolicy(sample_fit_above=min(POLICY.sample_fit_above, n - 1),
                         fit_sample=min(POLICY.fit_sample, n // SAMPLE_SHARE))
    Z, t_reduce, _ = measure(lambda: Projector(method="umap", n_components=c.n_components, n_neighbors=c.n_neighbors,
                                               min_dist=0.0, n_epochs=c.n_epochs, seed=c.seed)
                             .fit_transform(emb.vectors, scale=policy))
    mcs = policy.min_cluster_size(c.min_cluster_size, n)
    rows = sample_rows(n, policy.fit_sample, c.seed)
    on_sample = sample_min_cluster_size(mcs, n, policy.fit_sample)
    (full, _, _), t_full, m_full = measure(lambda: cpu_hdbscan(Z, mcs, c.min_samples, c.selection, c.epsilon))
    (part, _, _), t_part, m_part = measure(lambda: sampled_hdbscan(Z, rows, on_sample, c.min_samples, c.selection,
                                                                   c.epsilon))
    both = (full >= 0) & (part >= 0)
    table = [[f"every row (min_cluster_size {mcs})", t_full, m_full, int(full.max() + 1), np.mean(full < 0)],
             [f"a sample of {policy.fit_sample:,} rows (min_cluster_size {on_sample}) + approximate_predict",
              t_part, m_part, int(part.max() + 1), np.mean(part < 0)]]
    return Table(f"Sampled HDBSCAN vs every row at {n:,} x 256 (the same 10-d space)",
                 ["HDBSCAN fitted on", "wall s", "peak MB (delta)", "clusters", "noise share"], table,
                 note=(f"Agreement of the two labelings: adjusted Rand index {adjusted_rand_score(full, part):.3f} "
                       f"over all rows (noise as one label), {adjusted_rand_score(full[both], part[both]):.3f} over "
                       f"the {both.mean():.0%} of rows both put in a cluster. The 10-d space took {t_reduce:.0f} s "
                       "(sampled fit + placement, as in the pipeline). Generated vectors, seed "
                       f"{SEED} (the set of scale_pipeline)."))


def run(quick: bool = False) -> list[Table]:
    return [sampling_table(QUICK if quick else FULL)]
