"""The minimum-cluster-size sweep: clusters and noise at each size, and whether a size sits on a cliff.

:func:`sweep_counts` clusters one reduction of a set at many minimum cluster sizes (the reduction does not depend
on the size, so it is computed once); the cached step is :func:`mmx_core.explore.cached_sweep.mcs_sweep`. A
size *sits on a cliff* when moving the slider one step either way changes the map a lot: the rule is
:data:`CLIFF` (:class:`CliffRule`), applied by :func:`cliff_steps` and worded by :func:`cliff_warning`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from mmx_core.base.errors import MMXError
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.scale import ScalePolicy

__all__ = ["SWEEP_COLUMNS", "CliffRule", "CLIFF", "sweep_counts", "cliff_steps", "cliff_warning", "check_sizes"]

SWEEP_COLUMNS = ["mcs", "n_clusters", "noise_share"]


@dataclass(frozen=True)
class CliffRule:
    """When a step between two neighbouring minimum cluster sizes ``a < b`` of a sweep is a cliff.

    It is one when the number of clusters changes by at least ``min_change`` clusters *and* faster than the
    sizes do by a factor ``elasticity``, ``|ln(n_a / n_b)| / ln(b / a) >= elasticity`` (the count of
    clusters falls roughly as ``1 / mcs`` on a smooth stretch, elasticity near 1), or when the share of
    trailers called noise changes by at least ``noise_jump``. A size sits on a cliff when a step to or
    from it is one.

    The thresholds were read off the published set's sweep (docs/explore.md): its smooth stretches stay
    below 2 (a single cluster more or less aside), its sudden falls reach 3.5 to 5.
    """

    min_change: int = 3
    elasticity: float = 2.5
    noise_jump: float = 0.05


CLIFF = CliffRule()
"""The one cliff rule of the app and the CLI."""


def check_sizes(values: Sequence[int]) -> list[int]:
    """Sorted unique minimum cluster sizes, each an int of at least 2 (:class:`MMXError` naming a bad one)."""
    values = list(values)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise MMXError(f"minimum cluster sizes of a sweep must be integers of at least 2, got {v!r}")
    if not values:
        raise MMXError("a sweep needs at least one minimum cluster size, got none")
    return sorted({int(v) for v in values})


def sweep_counts(X: np.ndarray, values: Sequence[int], params: dict, source=None,
                 scale: ScalePolicy | None = None) -> pd.DataFrame:
    """Clusters and noise share of ``X`` (array of shape (n_samples, n_features)) at each minimum cluster size.

    ``params`` are the other :class:`SubgenreClusterer` parameters. The reduction is fitted at the first size
    and reused for the others (passed as ``reduced``), and HDBSCAN's spanning tree too, held in a temporary
    ``joblib.Memory`` (it depends on ``min_samples``, not on the size): the sweep costs one reduction, one tree
    and one condensing per size. Returns a DataFrame with columns :data:`SWEEP_COLUMNS`, one row per size, in
    increasing order.
    """
    from joblib import Memory

    rows, reduced = [], None
    with tempfile.TemporaryDirectory(prefix="mmx_sweep_") as folder:
        memory = Memory(folder, verbose=0)
        for mcs in check_sizes(values):
            model = SubgenreClusterer(min_cluster_size=mcs, **params).fit(X, source=source, reduced=reduced,
                                                                          scale=scale, memory=memory)
            reduced = model.reduced_
            rows.append({"mcs": mcs, "n_clusters": int(model.n_clusters_),
                         "noise_share": round(float(np.mean(model.labels_ < 0)), 4)})
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def cliff_steps(sweep: pd.DataFrame, rule: CliffRule = CLIFF) -> pd.DataFrame:
    """Each step between neighbouring sizes of ``sweep``: ``mcs_from, mcs_to, clusters_from, clusters_to,
    noise_from, noise_to, elasticity, cliff`` (whether :class:`CliffRule` ``rule`` calls it a cliff)."""
    s = sweep.sort_values("mcs").reset_index(drop=True)
    a, b = s.iloc[:-1].reset_index(drop=True), s.iloc[1:].reset_index(drop=True)
    steps = pd.DataFrame({"mcs_from": a["mcs"], "mcs_to": b["mcs"], "clusters_from": a["n_clusters"],
                          "clusters_to": b["n_clusters"], "noise_from": a["noise_share"], "noise_to": b["noise_share"]})
    counts = np.log(np.maximum(steps[["clusters_from", "clusters_to"]].to_numpy(dtype=float), 1.0))
    sizes = np.log(steps["mcs_to"].to_numpy(dtype=float) / steps["mcs_from"].to_numpy(dtype=float))
    steps["elasticity"] = np.abs(counts[:, 0] - counts[:, 1]) / sizes
    change = (steps["clusters_from"] - steps["clusters_to"]).abs()
    noise = (steps["noise_from"] - steps["noise_to"]).abs()
    steps["cliff"] = ((change >= rule.min_change) & (steps["elasticity"] >= rule.elasticity)) | \
        (noise >= rule.noise_jump - 1e-9)
    return steps


def cliff_warning(sweep: pd.DataFrame, mcs: int, rule: CliffRule = CLIFF) -> str | None:
    """One line saying that ``mcs`` sits on a cliff of ``sweep`` (the steps to and from it, or the step around
    it when it is not one of the sweep's sizes), or None when it does not."""
    steps = cliff_steps(sweep, rule)
    near = steps[(steps["mcs_from"] <= mcs) & (steps["mcs_to"] >= mcs)]
    cliffs = near[near["cliff"]]
    if not len(cliffs):
        return None
    parts = [f"from {r.mcs_from} to {r.mcs_to} the clusters go from {r.clusters_from} to {r.clusters_to} and "
             f"the noise from {100 * r.noise_from:.0f}% to {100 * r.noise_to:.0f}%" for r in cliffs.itertuples()]
    return (f"Minimum cluster size {mcs} sits on a cliff: {'; '.join(parts)}. A small move of the slider changes "
            "the sub-genres a lot; compare the neighbouring sizes before naming clusters.")
