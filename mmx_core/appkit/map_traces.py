"""Marker traces of the app's map: hover texts, and one plain-dict trace per colour layer.

Every trace carries its rows in the map frame as ``customdata`` and one :class:`Texts` of hover texts;
numeric arrays may be pre-encoded as typed arrays (:mod:`mmx_core.appkit.figure_payload`). The layers are
clusters (noise grey, one legend entry per cluster), one genre against the rest, year, or neighbourhood change.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from mmx_core.appkit.figure_payload import Texts, encoded_trace
from mmx_core.appkit.figures import LEGEND_WIDTH, PALETTE, cut

__all__ = ["Points", "colour_traces", "hover_texts", "NOISE_COLOUR"]

NOISE_COLOUR, HOVER = "rgba(160,160,160,0.35)", "%{hovertext}<extra></extra>"
# Explicit colour scales (Streamlit's theme replaces named ones): red = neighbours changed, blue = kept.
CHANGE_SCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#fddbc7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
YEAR_SCALE = [[0.0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1.0, "#fde725"]]


def _legend_names(frame: pd.DataFrame, summaries: pd.DataFrame | None) -> dict:
    """Cluster -> legend entry: summaries' ``legend_label``, else the frame's ``cluster_legend`` or ``cluster_label``."""
    if summaries is not None and "legend_label" in summaries:
        names = dict(zip(summaries["cluster"], summaries["legend_label"]))
    else:
        column = "cluster_legend" if "cluster_legend" in frame else "cluster_label"
        names = dict(zip(frame["cluster"], frame[column]))
    return {c: cut(name, LEGEND_WIDTH) for c, name in names.items()}


def hover_texts(frame: pd.DataFrame) -> np.ndarray:
    """Per-row hover card text: title (year), genres and, on an annotated map, the trailer's names and tags
    (its ``annotations`` column); the cluster is added per trace."""
    years = frame["year"].astype("string").fillna("?").to_numpy(dtype=object)
    texts = [f"<b>{t}</b> ({y})<br>{g}" for t, y, g in zip(frame["display_title"], years, frame["genres"])]
    if "annotations" in frame:
        texts = [f"{text}<br>{html.escape(a)}" if a else text for text, a in zip(texts, frame["annotations"])]
    return np.array(texts, dtype=object)


class Points:
    """Builds marker traces (plain dicts, no per-trace validation) from the frame's columns.

    ``customdata`` is the row in the map frame; ``hovertext`` the hover card text. When every point of
    a trace is in the same cluster, its label is written once in the trace's hover template. Columns
    are read once; hover texts are made once for ``rows`` (the rows drawn), else for the rows each trace
    asks for: never for all rows of a large map.
    """

    def __init__(self, frame: pd.DataFrame, encode: bool = False, rows: np.ndarray | None = None):
        self.frame, self.encode = frame, encode
        self.x, self.y = frame["x"].to_numpy(dtype=np.float32), frame["y"].to_numpy(dtype=np.float32)
        self.rows = None if rows is None else np.sort(rows)
        part = None if rows is None else frame.iloc[self.rows]
        self.labels = None if part is None else part["cluster_label"].astype(str).to_numpy(dtype=object)
        self.text = None if part is None else hover_texts(part)

    def _texts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.text is not None:
            at = np.searchsorted(self.rows, rows)
            return self.text[at], self.labels[at]
        part = self.frame.iloc[rows]
        return hover_texts(part), part["cluster_label"].astype(str).to_numpy(dtype=object)

    def __call__(self, rows: np.ndarray, name: str, marker: dict, **kwargs) -> dict:
        rows = np.asarray(rows, dtype=np.int64)
        texts, labels = self._texts(rows)
        if len(rows) and (labels == labels[0]).all():
            text = Texts(texts.tolist())
            template = "%{hovertext}<br>cluster: " + labels[0].replace("%", "%%") + "<extra></extra>"
        else:
            text = Texts(f"{t}<br>cluster: {c}" for t, c in zip(texts, labels))
            template = HOVER
        trace = {"type": "scattergl", "x": self.x[rows], "y": self.y[rows], "mode": "markers", "name": name,
                 "marker": marker, "customdata": rows.astype(np.int32), "hovertext": text,
                 "hovertemplate": template, **kwargs}
        return encoded_trace(trace) if self.encode else trace


def colour_traces(frame: pd.DataFrame, points: Points, rows: np.ndarray, size: int, colour: str,
                   genre: str | None, layers: tuple, change: np.ndarray | None) -> list:
    """Marker traces of ``rows`` coloured by ``colour`` (see :func:`map_figure`), background layer first."""
    traces = []
    clusters, summaries, background = layers
    if colour == "cluster":
        noise = rows[clusters[rows] < 0]
        traces.append(points(noise, background, {"color": NOISE_COLOUR, "size": size - 1}))
        order = summaries["cluster"].tolist() if summaries is not None else sorted(set(clusters[clusters >= 0]))
        legend = _legend_names(frame, summaries)
        for i, cluster in enumerate(order):
            members = rows[clusters[rows] == cluster]
            if len(members):
                traces.append(points(members, legend.get(cluster, str(cluster)),
                                      {"color": PALETTE[i % len(PALETTE)], "size": size, "opacity": 0.8}))
    elif colour == "genre":
        has = np.array([genre in g for g in frame["genre_list"].iloc[rows]], dtype=bool)
        traces.append(points(rows[~has], "other genres", {"color": NOISE_COLOUR, "size": size - 1}))
        traces.append(points(rows[has], f"{genre}", {"color": "#d62728", "size": size, "opacity": 0.85}))
    elif colour == "year":
        year = pd.to_numeric(frame["year"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[rows]
        known = ~np.isnan(year)
        traces.append(points(rows[~known], "no year", {"color": NOISE_COLOUR, "size": size - 1}))
        traces.append(points(rows[known], "year", {
            "color": year[known], "colorscale": YEAR_SCALE, "size": size, "showscale": True,
            "colorbar": {"title": {"text": "year"}, "thickness": 12}}))
    elif colour == "change":
        value = np.asarray(change if change is not None else np.full(len(frame), np.nan), dtype=float)[rows]
        known = ~np.isnan(value)
        traces.append(points(rows[~known], "not in the other set", {"color": NOISE_COLOUR, "size": size - 1}))
        traces.append(points(rows[known], "neighbour overlap", {
            "color": value[known], "colorscale": CHANGE_SCALE, "cmin": 0, "cmax": 1, "size": size, "showscale": True,
            "colorbar": {"title": {"text": "Jaccard@k"}, "thickness": 12}}))
    else:
        raise ValueError(f"unknown colour {colour!r}")
    return traces
