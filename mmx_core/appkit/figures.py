"""Plotly figure builders of the app (plotly only; no streamlit here).

Every point trace of a map carries its row in the map frame as the first
``customdata`` value, so a click, box or lasso selection maps back to trailers
(:func:`mmx_core.appkit.mapview.selected_rows`).

Maps above :data:`MAP_POINT_LIMIT` points draw a density layer of all points and
a sample of them as markers (plus every highlighted or selected point), which
keeps the payload and the browser responsive at 100,000 trailers.

A map is built in two parts: :func:`map_base` (the colour layers, legend and labels: the same for every
click, so the app builds it once per map and colouring and shares it between sessions) and the overlays
:func:`map_figure` adds to it (search matches, the selected trailer's star, the zoom).

Cluster names come as data: the summaries' ``short_label`` (written on the map)
and ``legend_label`` (legend, Sankey) columns, made by the clustering's label
maker (:mod:`mmx_core.explore.labels`); this module only cuts them to width.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["map_figure", "map_base", "MapBase", "Texts", "typed_array", "share_histogram", "year_histogram",
           "sankey_figure", "pr_curve_figure", "bar_figure", "curves_figure", "histogram_figure", "MAP_POINT_LIMIT"]

MAP_POINT_LIMIT = 30_000
NOISE_COLOUR = "rgba(160,160,160,0.35)"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1",
           "#636363", "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#e7969c")
HOVER = "%{hovertext}<extra></extra>"
# Explicit colour scales (Streamlit's theme replaces named ones): red = neighbours changed, blue = kept.
CHANGE_SCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#fddbc7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
YEAR_SCALE = [[0.0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1.0, "#fde725"]]


SHORT_WIDTH = 28   # characters of a label drawn on the map
LEGEND_WIDTH = 36  # characters of a legend or Sankey entry


def cut(text, width: int) -> str:
    """``text`` cut to ``width`` characters (an ellipsis marks the cut)."""
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _legend_names(frame: pd.DataFrame, summaries: pd.DataFrame | None) -> dict:
    """Cluster -> legend entry: the summaries' ``legend_label``, else the frame's ``cluster_legend``,
    else its ``cluster_label`` (a frame built without summaries)."""
    if summaries is not None and "legend_label" in summaries:
        names = dict(zip(summaries["cluster"], summaries["legend_label"]))
    else:
        column = "cluster_legend" if "cluster_legend" in frame else "cluster_label"
        names = dict(zip(frame["cluster"], frame[column]))
    return {c: cut(name, LEGEND_WIDTH) for c, name in names.items()}


def hover_texts(frame: pd.DataFrame) -> np.ndarray:
    """Per-row hover card text: title (year) and genres (the cluster is added per trace)."""
    years = frame["year"].astype("string").fillna("?").to_numpy(dtype=object)
    return np.array([f"<b>{t}</b> ({y})<br>{g}" for t, y, g in zip(frame["display_title"], years, frame["genres"])],
                    dtype=object)


_TYPED = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
          "float32": "f4", "float64": "f8"}


def typed_array(values: np.ndarray):
    """A 1-D numeric array as plotly.js's typed-array spec (``{"dtype", "bdata"}``), as plotly writes it
    when it sends a figure; empty or non-numeric arrays are returned unchanged."""
    values = np.asarray(values)
    code = _TYPED.get(str(values.dtype))
    if code is None or values.size == 0 or values.ndim != 1:
        return values
    return {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(values)).decode("ascii")}


def _encoded(trace: dict) -> dict:
    """``trace`` with its numeric arrays (top level and marker) as typed-array specs."""
    out = {k: typed_array(v) if isinstance(v, np.ndarray) else v for k, v in trace.items()}
    if isinstance(out.get("marker"), dict):
        out["marker"] = {k: typed_array(v) if isinstance(v, np.ndarray) else v for k, v in out["marker"].items()}
    return out


class Texts(Sequence):
    """Hover texts of a trace: an immutable sequence of strings, written to JSON as a list (``tolist``).

    Sending a figure copies it deeply, then walks every list in it, before writing it as JSON: for a
    map of thousands of points that is mostly these strings. A figure holds them as one ``Texts``,
    which a deep copy returns as it is (like a string) and the walk does not enter.
    """

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = tuple(items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        return self._items[index]

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and list(self._items) == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Texts({len(self._items)} texts)"

    def tolist(self) -> list:
        """The texts as a list (what plotly's JSON encoder writes)."""
        return list(self._items)

    def __deepcopy__(self, memo) -> "Texts":
        return self


class _Points:
    """Builds marker traces (plain dicts, no per-trace validation) from the frame's columns.

    ``customdata`` is the row in the map frame; ``hovertext`` the hover card text. When every point of
    a trace is in the same cluster, its label is written once in the trace's hover template. Columns
    are read once; hover texts are made for the rows asked for (all of them with ``all_texts``).
    """

    def __init__(self, frame: pd.DataFrame, encode: bool = False, all_texts: bool = False):
        self.frame, self.encode = frame, encode
        self.x = frame["x"].to_numpy(dtype=np.float32)
        self.y = frame["y"].to_numpy(dtype=np.float32)
        self.labels = frame["cluster_label"].astype(str).to_numpy(dtype=object) if all_texts else None
        self.text = hover_texts(frame) if all_texts else None

    def _texts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.text is not None:
            return self.text[rows], self.labels[rows]
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
        return _encoded(trace) if self.encode else trace


def _visible_rows(frame: pd.DataFrame, keep: np.ndarray, limit: int, seed: int = 0) -> np.ndarray:
    if len(frame) <= limit:
        return np.arange(len(frame))
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(frame), size=limit, replace=False)
    return np.union1d(sample, keep)


@dataclass(frozen=True)
class MapBase:
    """A map without what changes from one click to the next (matches, the selected star, zoom).

    Built once per frame, colouring and layout by :func:`map_base` (the app shares it between
    sessions); :func:`map_figure` adds the overlays. Treat as read-only.

    Attributes
    ----------
    data : tuple of dict
        Plotly traces (density layer, then one marker trace per cluster, genre side or year band).
    layout : dict
        Plotly layout (cluster labels, legend, axes hidden).
    rows : ndarray of int
        Rows of the frame drawn as markers (all of them up to ``limit`` rows, else a sample).
    size : int
        Marker size of the points.
    n_rows : int
        Rows of the frame it was built from.
    encoded : bool
        Numeric arrays are plotly.js typed-array specs (what plotly sends), not numpy arrays.
    """

    data: tuple
    layout: dict
    rows: np.ndarray
    size: int
    n_rows: int
    encoded: bool = False

    def draws(self, rows: np.ndarray) -> bool:
        """Whether every row of ``rows`` is among the markers drawn."""
        return len(rows) == 0 or bool(np.isin(rows, self.rows).all())


def map_base(frame: pd.DataFrame, colour: str = "cluster", *, genre: str | None = None,
             summaries: pd.DataFrame | None = None, change: np.ndarray | None = None, keep: np.ndarray | None = None,
             limit: int = MAP_POINT_LIMIT, height: int = 640, labels: bool = True, max_labels: int = 20,
             title: str = "", encode: bool = False) -> MapBase:
    """The part of :func:`map_figure` that does not depend on matches, the selection or the zoom.

    ``keep`` are rows drawn as markers even when the map is sampled (above ``limit`` rows);
    ``encode`` writes numeric arrays as typed-array specs, which saves plotly converting them each
    time the figure is sent. Other parameters as in :func:`map_figure`.
    """
    n = len(frame)
    keep = np.zeros(0, dtype=np.int64) if keep is None else np.asarray(keep, dtype=np.int64)
    rows = _visible_rows(frame, keep, limit)
    size = 5 if len(rows) < 20_000 else 3
    traces: list = []
    points = _Points(frame, encode=encode, all_texts=True)
    if n > limit:
        traces.append(go.Histogram2dContour(x=frame["x"], y=frame["y"], name="density (all points)", ncontours=12,
                                           colorscale="Greys", showscale=False, hoverinfo="skip",
                                           opacity=0.4).to_plotly_json())
    clusters = frame["cluster"].to_numpy()
    if colour == "cluster":
        noise = rows[clusters[rows] < 0]
        traces.append(points(noise, "noise", {"color": NOISE_COLOUR, "size": size - 1}))
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
        value = np.asarray(change if change is not None else np.full(n, np.nan), dtype=float)[rows]
        known = ~np.isnan(value)
        traces.append(points(rows[~known], "not in the other set", {"color": NOISE_COLOUR, "size": size - 1}))
        traces.append(points(rows[known], "neighbour overlap", {
            "color": value[known], "colorscale": CHANGE_SCALE, "cmin": 0, "cmax": 1, "size": size, "showscale": True,
            "colorbar": {"title": {"text": "Jaccard@k"}, "thickness": 12}}))
    else:
        raise ValueError(f"unknown colour {colour!r}")
    frame_of_layout = go.Figure(_validate=False)
    if labels and summaries is not None and colour == "cluster" and len(summaries):
        short = "short_label" if "short_label" in summaries else "label"
        frame_of_layout.update_layout(annotations=[
            {"x": s["x"], "y": s["y"], "text": cut(s[short], SHORT_WIDTH), "showarrow": False,
             "font": {"size": 10, "color": "#111"}, "bgcolor": "rgba(255,255,255,0.7)"}
            for _, s in summaries.head(max_labels).iterrows()])
    frame_of_layout.update_layout(height=height, margin={"l": 0, "r": 0, "t": 30 if title else 0, "b": 0},
                                  title=title, clickmode="event+select",
                                  legend={"itemsizing": "constant", "font": {"size": 10}},
                                  xaxis={"visible": False}, yaxis={"visible": False},
                                  uirevision=str(colour), hoverlabel={"namelength": -1}, plot_bgcolor="white")
    return MapBase(tuple(traces), frame_of_layout.layout.to_plotly_json(), rows, size, n, encode)


def map_figure(frame: pd.DataFrame, colour: str = "cluster", *, genre: str | None = None,
               highlight: np.ndarray | None = None, selected: int | None = None,
               summaries: pd.DataFrame | None = None, change: np.ndarray | None = None,
               focus: tuple[float, float, float, float] | None = None, limit: int = MAP_POINT_LIMIT,
               height: int = 640, labels: bool = True, max_labels: int = 20, title: str = "",
               base: MapBase | None = None) -> go.Figure:
    """The 2-D map of a collection.

    Parameters
    ----------
    frame : DataFrame
        ``x, y, cluster, cluster_label, display_title, year, genres, genre_list`` (see :class:`MapData`).
    colour : {"cluster", "genre", "year", "change"}
        Colour by sub-genre cluster (one legend entry per cluster, noise grey), by one genre against the
        rest, by year, or by neighbourhood change (``change``: Jaccard@k per row, low = moved).
    genre : str, optional
        The highlighted genre for ``colour="genre"``.
    highlight : ndarray of shape (n_rows,) of bool, optional
        Search/filter matches, drawn on top with an outline.
    selected : int, optional
        Row of the selected trailer, drawn as a star.
    summaries : DataFrame, optional
        Cluster ``cluster, short_label, legend_label, x, y``: ``short_label`` drawn at the cluster
        centres, ``legend_label`` in the legend (``label`` stands in for a missing column).
    focus : (x0, x1, y0, y1), optional
        Axis ranges to zoom to.
    limit : int
        Above this many rows, markers are a sample plus a density layer.
    base : MapBase, optional
        :func:`map_base` of the same frame with the same ``colour``, ``genre``, ``summaries``,
        ``change``, ``limit`` and layout arguments, built earlier (e.g. shared between sessions); only
        the matches, the star and the zoom are added to it. Without it (or when it was sampled without
        a highlighted or selected row) the base is built here.
    """
    keep = np.flatnonzero(highlight) if highlight is not None else np.zeros(0, dtype=np.int64)
    if selected is not None:
        keep = np.union1d(keep, [selected])
    if base is None or base.n_rows != len(frame) or not base.draws(keep):
        base = map_base(frame, colour, genre=genre, summaries=summaries, change=change, keep=keep, limit=limit,
                        height=height, labels=labels, max_labels=max_labels, title=title,
                        encode=base.encoded if base is not None else False)
    traces = [dict(trace) for trace in base.data]   # plotly pops and puts back each trace's type: not in the base
    size = base.size
    if (highlight is not None and highlight.any()) or selected is not None:
        points = _Points(frame, encode=base.encoded)
        if highlight is not None and highlight.any():
            traces.append(points(np.flatnonzero(highlight), "matches", {
                "color": "rgba(0,0,0,0)", "size": size + 6, "line": {"color": "#111", "width": 1.5}}))
        if selected is not None:
            traces.append(points(np.array([selected]), "selected", {
                "color": "#ffd400", "size": 18, "symbol": "star", "line": {"color": "#111", "width": 1.5}}))
    layout = dict(base.layout)
    if focus is not None:
        layout["xaxis"] = {**layout.get("xaxis", {}), "range": [float(focus[0]), float(focus[1])]}
        layout["yaxis"] = {**layout.get("yaxis", {}), "range": [float(focus[2]), float(focus[3])]}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def share_histogram(selection: pd.Series, whole: pd.Series, title: str = "genres: selection vs collection") -> go.Figure:
    """Bars of the share of trailers per genre in a selection against the whole collection."""
    genres = list(dict.fromkeys(list(whole.index) + list(selection.index)))
    fig = go.Figure([
        go.Bar(name="selection", x=genres, y=[selection.get(g, 0.0) for g in genres], marker_color="#d62728"),
        go.Bar(name="collection", x=genres, y=[whole.get(g, 0.0) for g in genres], marker_color="#9e9e9e"),
    ])
    fig.update_layout(barmode="group", height=300, title=title, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                      yaxis={"tickformat": ".0%"}, legend={"orientation": "h"})
    return fig


def year_histogram(selection: pd.Series, whole: pd.Series, title: str = "years: selection vs collection") -> go.Figure:
    """Overlaid normalised year histograms of a selection and the collection."""
    fig = go.Figure([
        go.Histogram(x=whole.dropna(), name="collection", histnorm="probability", marker_color="#9e9e9e", opacity=0.6),
        go.Histogram(x=selection.dropna(), name="selection", histnorm="probability", marker_color="#d62728", opacity=0.6),
    ])
    fig.update_layout(barmode="overlay", height=300, title=title, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                      yaxis={"tickformat": ".0%"}, legend={"orientation": "h"})
    return fig


def histogram_figure(values: np.ndarray, title: str, xlabel: str, bins: int = 20) -> go.Figure:
    """A plain histogram (e.g. Jaccard@k per trailer)."""
    fig = go.Figure(go.Histogram(x=values, nbinsx=bins, marker_color="#3182bd"))
    fig.update_layout(height=260, title=title, xaxis_title=xlabel, yaxis_title="trailers",
                      margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return fig


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
    fig = go.Figure(go.Sankey(
        node={"label": names, "pad": 8, "thickness": 12,
              "color": [PALETTE[i % len(PALETTE)] for i in range(len(names))]},
        link={"source": [index_a[c] for c in links["cluster_a"]], "target": [index_b[c] for c in links["cluster_b"]],
              "value": links["count"].tolist()}))
    fig.update_layout(height=max(400, 14 * len(names)), title=title, margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return fig


def pr_curve_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str = "precision-recall") -> go.Figure:
    """Precision-recall curves: ``{name: (recall, precision)}``."""
    fig = go.Figure([go.Scatter(x=r, y=p, mode="lines", name=name) for name, (r, p) in curves.items()])
    fig.update_layout(height=420, title=title, xaxis_title="recall", yaxis_title="precision",
                      xaxis={"range": [0, 1]}, yaxis={"range": [0, 1.02]}, margin={"l": 0, "r": 0, "t": 40, "b": 0})
    return fig


def bar_figure(table: pd.DataFrame, x: str, ys: list[str], title: str = "", height: int = 360) -> go.Figure:
    """Grouped bars of columns ``ys`` against ``x`` (e.g. per-genre F1, ours vs the paper)."""
    fig = go.Figure([go.Bar(name=y, x=table[x], y=table[y]) for y in ys])
    fig.update_layout(barmode="group", height=height, title=title, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                      legend={"orientation": "h"})
    return fig


def curves_figure(table: pd.DataFrame, x: str, ys: list[str], title: str = "", height: int = 300) -> go.Figure:
    """Lines of columns ``ys`` against ``x`` (training loss, validation metrics)."""
    fig = go.Figure([go.Scatter(x=table[x], y=table[y], mode="lines+markers", name=y) for y in ys if y in table])
    fig.update_layout(height=height, title=title, margin={"l": 0, "r": 0, "t": 40, "b": 0}, xaxis_title=x,
                      legend={"orientation": "h"})
    return fig
