"""The app's map of a collection as a plotly figure (plotly only; no streamlit here).

Every point trace carries its row in the map frame as its first ``customdata`` value, so a click, box or
lasso selection maps back to trailers (:func:`mmx_core.appkit.map_tables.selected_rows`).

Maps above :data:`MAP_POINT_LIMIT` points are drawn for a region (``view``) as a density layer of all
points plus at most that many points of the region as markers, and the region's matches up to a cap
(:mod:`mmx_core.appkit.large_map`): the payload stays a few MB whatever the size of the collection.

A map is built in two parts: :func:`map_base` (the colour layers, legend and labels: the same for every
click, so the app builds it once per map, colouring and view and shares it between sessions) and the
overlays :func:`map_figure` adds (search matches, the selected trailer's star, the zoom). Point traces are
plain dicts with one :class:`~mmx_core.appkit.figure_payload.Texts` of hover texts and pre-encoded numeric
arrays (typed arrays), cheap to send (:mod:`mmx_core.appkit.map_traces`, :mod:`mmx_core.appkit.figure_payload`).

Cluster names come as data: the summaries' ``short_label`` (on the map) and ``legend_label`` (legend)
columns, made by :mod:`mmx_core.explore.labels`; this module only cuts them to width (groups of many clusters:
:mod:`mmx_core.appkit.map_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mmx_core.appkit.figures import cut
from mmx_core.appkit.large_map import capped_matches, density_trace, rows_in_view
from mmx_core.appkit.map_groups import cluster_layers
from mmx_core.appkit.map_traces import Points, colour_traces

__all__ = ["map_figure", "map_base", "MapBase", "MAP_POINT_LIMIT", "SHORT_WIDTH"]

MAP_POINT_LIMIT = 30_000
SHORT_WIDTH = 28   # characters of a label drawn on the map


@dataclass(frozen=True)
class MapBase:
    """A map without what changes from one click to the next (matches, the selected star, zoom); read-only.

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
    of its points (:func:`mmx_core.appkit.large_map.rows_in_view`) plus ``keep``; else every row. ``encode``
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
    points = Points(frame, encode=encode, rows=rows)
    size = 5 if len(rows) < 20_000 else 3
    layers = cluster_layers(frame, summaries, groups, group, background)
    traces += colour_traces(frame, points, rows, size, colour, genre, layers, change)
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
        None: all) and :data:`~mmx_core.appkit.large_map.MATCH_CAP` matches of it; the selection always.
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
    traces += _overlay_traces(frame, base, matches, selected)
    return go.Figure({"data": traces, "layout": _focused(base.layout, focus, sampled)}, _validate=False)


def _overlay_traces(frame: pd.DataFrame, base: MapBase, matches: np.ndarray, selected: int | None) -> list:
    """The matches (outlined) and the selected trailer (a star), drawn over ``base``."""
    if not len(matches) and selected is None:
        return []
    points, traces = Points(frame, encode=base.encoded), []
    if len(matches):
        traces.append(points(matches, "matches", {
            "color": "rgba(0,0,0,0)", "size": base.size + 6, "line": {"color": "#111", "width": 1.5}}))
    if selected is not None:
        traces.append(points(np.array([selected]), "selected", {
            "color": "#ffd400", "size": 18, "symbol": "star", "line": {"color": "#111", "width": 1.5}}))
    return traces


def _focused(base_layout: dict, focus: tuple | None, sampled: bool) -> dict:
    """``base_layout`` zoomed to ``focus`` (x0, x1, y0, y1), if given."""
    layout = dict(base_layout)
    if focus is not None:
        layout["xaxis"] = {**layout.get("xaxis", {}), "range": [float(focus[0]), float(focus[1])]}
        layout["yaxis"] = {**layout.get("yaxis", {}), "range": [float(focus[2]), float(focus[3])]}
        if sampled:  # a new focus replaces the user's zoom (plotly keeps it while uirevision stays)
            layout["uirevision"] = f"{layout.get('uirevision', '')}|{tuple(round(float(v), 6) for v in focus)}"
    return layout

