"""The app's map of a collection as a plotly figure (plotly only; no streamlit here).

Every point trace carries its row in the map frame as its first ``customdata`` value, so a click, box or
lasso selection maps back to trailers (:func:`mmx_core.appkit.mapview.selected_rows`).

Maps above :data:`MAP_POINT_LIMIT` points are drawn for a region (``view``) as a density layer of all
points plus at most that many points of the region as markers, and the region's matches up to a cap
(:mod:`mmx_core.appkit.viewport`): the payload stays a few MB whatever the size of the collection.

A map is built in two parts: :func:`map_base` (the colour layers, legend and labels: the same for every
click, so the app builds it once per map, colouring and view and shares it between sessions) and the
overlays :func:`map_figure` adds (search matches, the selected trailer's star, the zoom). Point traces are
plain dicts with one :class:`Texts` of hover texts and pre-encoded numeric arrays (typed arrays), cheap to
send (:mod:`mmx_core.appkit.figure_payload`).

Cluster names come as data: the summaries' ``short_label`` (on the map) and ``legend_label`` (legend)
columns, made by :mod:`mmx_core.explore.labels`; this module only cuts them to width (groups of many clusters:
:mod:`mmx_core.appkit.map_groups`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mmx_core.appkit.figure_payload import Texts, encoded_trace
from mmx_core.appkit.figures import LEGEND_WIDTH, PALETTE, cut
from mmx_core.appkit.map_groups import cluster_layers, focus_on  # focus_on: the map's zoom, kept importable here
from mmx_core.appkit.viewport import capped_matches, density_trace, rows_in_view

__all__ = ["map_figure", "map_base", "MapBase", "focus_on", "hover_texts", "MAP_POINT_LIMIT", "NOISE_COLOUR", "SHORT_WIDTH"]

MAP_POINT_LIMIT = 30_000
NOISE_COLOUR, HOVER = "rgba(160,160,160,0.35)", "%{hovertext}<extra></extra>"
# Explicit colour scales (Streamlit's theme replaces named ones): red = neighbours changed, blue = kept.
CHANGE_SCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#fddbc7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
YEAR_SCALE = [[0.0, "#440154"], [0.25, "#3b528b"], [0.5, "#21918c"], [0.75, "#5ec962"], [1.0, "#fde725"]]
SHORT_WIDTH = 28   # characters of a label drawn on the map


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


class _Points:
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
        Rows of the frame drawn as markers (all of them up to ``limit`` rows, else those of the view).
    size : int
        Marker size of the points.
    n_rows : int
        Rows of the frame it was built from.
    encoded : bool
        Numeric arrays are plotly.js typed-array specs (what plotly sends), not numpy arrays.
    view : (x0, x1, y0, y1) or None
        The region its markers and density were chosen for (None: the whole map).
    sampled : bool
        Above ``limit`` rows: a density layer plus the markers of the view.
    """

    data: tuple
    layout: dict
    rows: np.ndarray
    size: int
    n_rows: int
    encoded: bool = False
    view: tuple | None = None
    sampled: bool = False

    def draws(self, rows: np.ndarray) -> bool:
        """Whether every row of ``rows`` is among the markers drawn."""
        return len(rows) == 0 or bool(np.isin(rows, self.rows).all())


def _colour_traces(frame: pd.DataFrame, points: _Points, rows: np.ndarray, size: int, colour: str,
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


def _base_layout(colour: str, summaries: pd.DataFrame | None, height: int, labels: bool, max_labels: int,
                 title: str) -> dict:
    """Plotly layout of a map: cluster labels at their centres (``colour="cluster"``), legend, axes hidden."""
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
    return frame_of_layout.layout.to_plotly_json()


def map_base(frame: pd.DataFrame, colour: str = "cluster", *, genre: str | None = None,
             summaries: pd.DataFrame | None = None, change: np.ndarray | None = None, keep: np.ndarray | None = None,
             limit: int = MAP_POINT_LIMIT, height: int = 640, labels: bool = True, max_labels: int = 20,
             title: str = "", encode: bool = False, view: tuple | None = None, groups: pd.DataFrame | None = None,
             group: int | None = None, background: str = "noise") -> MapBase:
    """The part of :func:`map_figure` that does not depend on matches, the selection or the zoom.

    Above ``limit`` rows, the density of the points of ``view`` (None: the whole map) and at most ``limit``
    of its points (:func:`mmx_core.appkit.viewport.rows_in_view`) plus ``keep``; else every row. ``encode``
    writes numeric arrays as typed-array specs. Other parameters as in :func:`map_figure`.
    """
    n = len(frame)
    keep = np.zeros(0, dtype=np.int64) if keep is None else np.asarray(keep, dtype=np.int64)
    sampled, view = n > limit, (tuple(float(v) for v in view) if view is not None and n > limit else None)
    traces: list = []
    rows = np.arange(n)
    if sampled:
        x, y = frame["x"].to_numpy(dtype=np.float64), frame["y"].to_numpy(dtype=np.float64)
        rows = rows_in_view(x, y, view, limit, keep)
        traces.append(density_trace(x, y, view, name=f"density (all {n:,} points)"))
    points = _Points(frame, encode=encode, rows=rows)
    size = 5 if len(rows) < 20_000 else 3
    layers = cluster_layers(frame, summaries, groups, group, background)
    traces += _colour_traces(frame, points, rows, size, colour, genre, layers, change)
    return MapBase(tuple(traces), _base_layout(colour, layers[1], height, labels, max_labels, title), rows, size, n,
                   encode, view, sampled)


def _overlay_rows(frame: pd.DataFrame, highlight: np.ndarray | None, selected: int | None, sampled: bool,
                  view: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the matches drawn (a sampled map: those of ``view``, capped) and rows the base must draw
    (every match of a map at or below the limit, and the selected row)."""
    matches = np.flatnonzero(highlight) if highlight is not None else np.zeros(0, dtype=np.int64)
    if sampled and len(matches):
        matches = capped_matches(highlight, frame["x"].to_numpy(), frame["y"].to_numpy(), view)
    keep = matches if not sampled else np.zeros(0, dtype=np.int64)
    return matches, (np.union1d(keep, [selected]) if selected is not None else keep)


def map_figure(frame: pd.DataFrame, colour: str = "cluster", *, genre: str | None = None,
               highlight: np.ndarray | None = None, selected: int | None = None,
               summaries: pd.DataFrame | None = None, change: np.ndarray | None = None,
               focus: tuple[float, float, float, float] | None = None, limit: int = MAP_POINT_LIMIT,
               height: int = 640, labels: bool = True, max_labels: int = 20, title: str = "",
               base: MapBase | None = None, view: tuple[float, float, float, float] | None = None,
               groups: pd.DataFrame | None = None, group: int | None = None, background: str = "noise") -> go.Figure:
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
    summaries, groups : DataFrame, optional
        Cluster ``cluster, short_label, legend_label, x, y``: ``short_label`` drawn at the cluster centres,
        ``legend_label`` in the legend (``label`` stands in for a missing column); sub-genre ``groups`` alike
        are drawn one layer each, or the clusters of ``group`` (:mod:`~mmx_core.appkit.map_groups`).
    focus, view : (x0, x1, y0, y1), optional
        Axis ranges to zoom to; the region shown (see ``limit``).
    limit : int
        Above this many rows: a density layer, at most ``limit`` points of ``view`` (the region shown,
        None: all) and :data:`~mmx_core.appkit.viewport.MATCH_CAP` matches of it; the selection always.
    background : str
        The grey layer's legend name when colouring by cluster without groups (default "noise").
    base : MapBase, optional
        :func:`map_base` of the same frame and arguments, built earlier (e.g. shared between sessions);
        only the matches, the star and the zoom are added to it. Without it (or when it was built for
        another view, or lacks the selected row or, up to ``limit``, a match) it is built here.
    """
    sampled = len(frame) > limit
    view = tuple(float(v) for v in view) if view is not None and sampled else None
    matches, keep = _overlay_rows(frame, highlight, selected, sampled, view)
    if base is None or base.n_rows != len(frame) or not base.draws(keep) or (sampled and base.view != view):
        base = map_base(frame, colour, genre=genre, summaries=summaries, change=change, keep=keep, limit=limit,
                        height=height, labels=labels, max_labels=max_labels, title=title,
                        encode=base.encoded if base is not None else False, view=view, groups=groups, group=group,
                        background=background)
    traces = [dict(trace) for trace in base.data]   # plotly pops and puts back each trace's type: not in the base
    size = base.size
    if len(matches) or selected is not None:
        points = _Points(frame, encode=base.encoded)
        if len(matches):
            traces.append(points(matches, "matches", {
                "color": "rgba(0,0,0,0)", "size": size + 6, "line": {"color": "#111", "width": 1.5}}))
        if selected is not None:
            traces.append(points(np.array([selected]), "selected", {
                "color": "#ffd400", "size": 18, "symbol": "star", "line": {"color": "#111", "width": 1.5}}))
    layout = dict(base.layout)
    if focus is not None:
        layout["xaxis"] = {**layout.get("xaxis", {}), "range": [float(focus[0]), float(focus[1])]}
        layout["yaxis"] = {**layout.get("yaxis", {}), "range": [float(focus[2]), float(focus[3])]}
        if sampled:  # a new focus replaces the user's zoom (plotly keeps it while uirevision stays)
            layout["uirevision"] = f"{layout.get('uirevision', '')}|{tuple(round(float(v), 6) for v in focus)}"
    return go.Figure({"data": traces, "layout": layout}, _validate=False)

