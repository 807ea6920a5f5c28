"""Plotly charts of the app other than the map (plotly only; no streamlit here).

Genre and year histograms of a selection, the Sankey of how clusters split, precision-recall curves,
grouped bars and training curves.

The map itself is :mod:`mmx_core.appkit.map_figure`; it shares this module's palette and :func:`cut`.
Cluster names come as data (the summaries' ``legend_label``, made by :mod:`mmx_core.explore.labels`);
this module only cuts them to width.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["share_histogram", "year_histogram", "sankey_figure", "pr_curve_figure", "bar_figure", "curves_figure",
           "histogram_figure", "cut", "PALETTE", "LEGEND_WIDTH"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
           "#636363", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#e7969c")
LEGEND_WIDTH = 36  # characters of a legend or Sankey entry


def cut(text, width: int) -> str:
    """``text`` cut to ``width`` characters (an ellipsis marks the cut)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _laid_out(fig: go.Figure, **layout) -> go.Figure:
    """``fig`` with ``layout`` and the margins of every chart of the app."""
    fig.update_layout(margin={"l": 0, "r": 0, "t": 40, "b": 0}, **layout)
    return fig


def share_histogram(selection: pd.Series, whole: pd.Series, title: str = "genres: selection vs collection") -> go.Figure:
    """Bars of the share of trailers per genre in a selection against the whole collection."""
    genres = list(dict.fromkeys(list(whole.index) + list(selection.index)))
    return _laid_out(go.Figure([
        go.Bar(name="selection", x=genres, y=[selection.get(g, 0.0) for g in genres], marker_color="#d62728"),
        go.Bar(name="collection", x=genres, y=[whole.get(g, 0.0) for g in genres], marker_color="#9e9e9e"),
    ]), barmode="group", height=300, title=title, yaxis={"tickformat": ".0%"}, legend={"orientation": "h"})


def year_histogram(selection: pd.Series, whole: pd.Series, title: str = "years: selection vs collection") -> go.Figure:
    """Overlaid normalised year histograms of a selection and the collection."""
    return _laid_out(go.Figure([
        go.Histogram(x=whole.dropna(), name="collection", histnorm="probability", marker_color="#9e9e9e", opacity=0.6),
        go.Histogram(x=selection.dropna(), name="selection", histnorm="probability", marker_color="#d62728", opacity=0.6),
    ]), barmode="overlay", height=300, title=title, yaxis={"tickformat": ".0%"}, legend={"orientation": "h"})


def histogram_figure(values: np.ndarray, title: str, xlabel: str, bins: int = 20) -> go.Figure:
    """A plain histogram (e.g. Jaccard@k per trailer)."""
    return _laid_out(go.Figure(go.Histogram(x=values, nbinsx=bins, marker_color="#3182bd")), height=260, title=title,
                     xaxis_title=xlabel, yaxis_title="trailers")


def sankey_figure(transitions: pd.DataFrame, labels_a: dict, labels_b: dict, min_count: int = 5,
                  max_links: int = 120, title: str = "coarse clusters → fine clusters") -> go.Figure:
    """Sankey of how clusters of space A split into clusters of space B (``cluster_a, cluster_b, count``).

    ``labels_a`` / ``labels_b`` map each cluster to its node name (its ``legend_label``), cut to
    :data:`LEGEND_WIDTH`. Links to or from noise and links of fewer than ``min_count`` trailers are left out.
    """
    real = (transitions["cluster_a"] >= 0) & (transitions["cluster_b"] >= 0)   # noise is left out
    links = transitions[real & (transitions["count"] >= min_count)].nlargest(max_links, "count")
    left = sorted(links["cluster_a"].unique())
    right = sorted(links["cluster_b"].unique())
    names = ([f"A {cut(labels_a.get(c, c), LEGEND_WIDTH)}" for c in left]
             + [f"B {cut(labels_b.get(c, c), LEGEND_WIDTH)}" for c in right])
    index_a = {c: i for i, c in enumerate(left)}
    index_b = {c: len(left) + i for i, c in enumerate(right)}
    return _laid_out(go.Figure(go.Sankey(
        node={"label": names, "pad": 8, "thickness": 12,
              "color": [PALETTE[i % len(PALETTE)] for i in range(len(names))]},
        link={"source": [index_a[c] for c in links["cluster_a"]], "target": [index_b[c] for c in links["cluster_b"]],
              "value": links["count"].tolist()})), height=max(400, 14 * len(names)), title=title)


def pr_curve_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "precision-recall") -> go.Figure:
    """Precision-recall curves: ``{name: (recall, precision)}``."""
    return _laid_out(go.Figure([go.Scatter(x=r, y=p, mode="lines", name=name) for name, (r, p) in curves.items()]),
                     height=420, title=title, xaxis_title="recall", yaxis_title="precision", xaxis={"range": [0, 1]},
                     yaxis={"range": [0, 1.02]})


def bar_figure(table: pd.DataFrame, x: str, ys: list[str], title: str = "", height: int = 360) -> go.Figure:
    """Grouped bars of columns ``ys`` against ``x`` (e.g. per-genre F1, ours vs the paper)."""
    return _laid_out(go.Figure([go.Bar(name=y, x=table[x], y=table[y]) for y in ys]), barmode="group", height=height,
                     title=title, legend={"orientation": "h"})


def curves_figure(table: pd.DataFrame, x: str, ys: list[str], title: str = "", height: int = 300) -> go.Figure:
    """Lines of columns ``ys`` against ``x`` (training loss, validation metrics)."""
    lines = [go.Scatter(x=table[x], y=table[y], mode="lines+markers", name=y) for y in ys if y in table]
    return _laid_out(go.Figure(lines), height=height, title=title, xaxis_title=x, legend={"orientation": "h"})
