"""What the cluster card and the minimum-cluster-size sweep need in the app and in the CLI (no streamlit).

The card's stability neighbours are the slider's values one step either side (:data:`~.url_state.MCS_STEP`,
within :data:`~.url_state.MCS_RANGE`), and the sweep runs over every value the slider offers: both are read
here from the view state's constants, so the ``cluster-card`` command and the Explore page compute the same
cards and the same sweep (:func:`card`, :func:`sweep`).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from mmx_core.appkit.url_state import MCS_RANGE, MCS_STEP
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.explore import cached_clusters
from mmx_core.explore.cached_sweep import mcs_sweep
from mmx_core.explore.cluster_card import ClusterCard, cluster_card, lift_text
from mmx_core.explore.mcs_sweep import CLIFF, SWEEP_COLUMNS, cliff_steps, cliff_warning

__all__ = ["card", "sweep", "sweep_values", "neighbour_sizes", "terms_table", "sweep_figure", "sweep_warning"]


def sweep_values(n: int) -> list[int]:
    """The slider's minimum cluster sizes that a set of ``n`` trailers can be clustered at (each below ``n``)."""
    return [v for v in range(MCS_RANGE[0], MCS_RANGE[1] + 1, MCS_STEP) if v < n]


def neighbour_sizes(mcs: int) -> list[int]:
    """The slider's values one step either side of ``mcs``: the stability score's neighbours."""
    return [m for m in (mcs - MCS_STEP, mcs + MCS_STEP) if MCS_RANGE[0] <= m <= MCS_RANGE[1]]


def card(emb: EmbeddingSet, cluster: int, mcs: int = cached_clusters.DEFAULT_CLUSTERS["min_cluster_size"]) -> ClusterCard:
    """The card of ``cluster`` of the map of ``emb`` at minimum cluster size ``mcs`` (the clusterings it reads,
    its own and its neighbours', are the cached sub-genre step)."""
    result = cached_clusters.clusters(emb, min_cluster_size=mcs)
    return cluster_card(emb, result, cluster, neighbour_sizes(mcs))


def sweep(emb: EmbeddingSet) -> pd.DataFrame:
    """Clusters and noise at every size of :func:`sweep_values` (cached on disk; empty for a tiny set)."""
    values = sweep_values(len(emb))
    return mcs_sweep(emb, values) if values else pd.DataFrame(columns=SWEEP_COLUMNS)


def sweep_warning(table: pd.DataFrame, mcs: int) -> str | None:
    """:func:`~mmx_core.explore.mcs_sweep.cliff_warning` of the sweep at ``mcs`` under the one rule
    (:data:`~mmx_core.explore.mcs_sweep.CLIFF`); None for a sweep of fewer than two sizes."""
    return cliff_warning(table, mcs, CLIFF) if len(table) >= 2 else None


def terms_table(c: ClusterCard) -> pd.DataFrame:
    """The card's terms as the app shows them: kind, term, members with it, and both lifts as text."""
    t = c.terms
    return pd.DataFrame({
        "kind": t["kind"], "term": t["term"],
        "members": [f"{k} ({100 * s:.0f}%)" for k, s in zip(t["count"], t["share"])],
        "lift vs collection": [f"×{v:.2f}" for v in t["lift_collection"]],
        "lift vs siblings": [lift_text(v, "×") for v in t["lift_siblings"]]})


def sweep_figure(table: pd.DataFrame, mcs: int, height: int = 260) -> go.Figure:
    """Clusters (left axis) and noise share (right axis) against the minimum cluster size, ``mcs`` marked by a
    vertical line, and the steps the cliff rule flags shaded."""
    fig = go.Figure([
        go.Scatter(x=table["mcs"], y=table["n_clusters"], name="clusters", mode="lines+markers",
                   line={"color": "#1f77b4"}, marker={"size": 4}),
        go.Scatter(x=table["mcs"], y=table["noise_share"], name="noise", mode="lines+markers", yaxis="y2",
                   line={"color": "#9e9e9e", "dash": "dot"}, marker={"size": 4}),
    ])
    if len(table) >= 2:
        for step in cliff_steps(table, CLIFF).itertuples():
            if step.cliff:
                fig.add_vrect(x0=step.mcs_from, x1=step.mcs_to, fillcolor="#d62728", opacity=0.15, line_width=0)
    fig.add_vline(x=mcs, line={"color": "#d62728", "width": 2}, annotation_text=f"mcs {mcs}",
                  annotation_position="top")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                      legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
                      xaxis={"title": "minimum cluster size"}, yaxis={"title": "clusters", "rangemode": "tozero"},
                      yaxis2={"title": "noise", "overlaying": "y", "side": "right", "tickformat": ".0%",
                              "rangemode": "tozero"})
    return fig
