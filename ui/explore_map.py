"""The Explore page's map: its layers shared between sessions, drawn whole or as density plus points of the view.

Up to the point limit ``st.plotly_chart`` draws every trailer; above it, the density of every trailer plus
the points of the region shown (:mod:`ui.plotly_map`, which reports zoom and pan so that the page draws the
points of the new region).
"""

from __future__ import annotations

import os

import streamlit as st

from mmx_core.appkit import map_tables
from mmx_core.appkit.large_map import MATCH_CAP
from mmx_core.appkit.map_figure import MAP_POINT_LIMIT, MapBase, map_base, map_figure
from ui import plotly_map, widgets

SMALL_KEY, LARGE_KEY = "map", "map_large"   # element keys of the two kinds of map


@st.cache_resource(show_spinner=False, max_entries=24)
def _map_base(_data: map_tables.MapData, name: str, stamp: tuple, params: tuple, colour: str, genre: str | None,
              limit: int, group: int | None) -> MapBase:
    base = map_base(_data.frame, colour, genre=genre, summaries=_data.summaries, encode=True, limit=limit,
                    groups=_data.groups, group=group, background=_data.background)
    widgets.settle_shared()
    return base


@st.cache_resource(show_spinner=False, max_entries=16)
def _view_base(_data: map_tables.MapData, name: str, stamp: tuple, params: tuple, colour: str, genre: str | None,
               limit: int, group: int | None, view: tuple) -> MapBase:
    return map_base(_data.frame, colour, genre=genre, summaries=_data.summaries, encode=True, limit=limit, view=view,
                    groups=_data.groups, group=group, background=_data.background)


def map_point_limit() -> int:
    """Points a map draws as markers before it becomes a density plus the points of the region shown:
    :data:`MAP_POINT_LIMIT`, or the ``MMX_MAP_POINT_LIMIT`` environment variable (tests lower it)."""
    text = os.environ.get("MMX_MAP_POINT_LIMIT", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text:
        st.warning(f"MMX_MAP_POINT_LIMIT={text!r} is not a positive integer; the map uses {MAP_POINT_LIMIT:,}.")
    return MAP_POINT_LIMIT


def is_large(data: map_tables.MapData) -> bool:
    """Whether the map of ``data`` is drawn as a density plus the points of the region shown."""
    return len(data.frame) > map_point_limit()


def scope_of(name: str, data: map_tables.MapData) -> tuple:
    """What identifies the map of set ``name``: the set's file and the map's parameters."""
    return name, widgets.set_stamp(name), tuple(sorted(data.params.items()))


def key_of(data: map_tables.MapData) -> str:
    """The element key of the map of ``data`` (what a hover card attaches to)."""
    return LARGE_KEY if is_large(data) else SMALL_KEY


def last_selection(data: map_tables.MapData):
    """The last click, box or lasso on the map of ``data`` (``st.plotly_chart``'s selection state's shape)."""
    return plotly_map.selection_event(LARGE_KEY) if is_large(data) else st.session_state.get(SMALL_KEY)


def region(data: map_tables.MapData, scope: tuple, focus: tuple | None) -> tuple | None:
    """The region whose points the map of ``data`` draws (:func:`ui.plotly_map.region`); None for a map
    drawn whole."""
    return plotly_map.region(LARGE_KEY, focus, scope) if is_large(data) else None


def map_figure_for(scope: tuple, data: map_tables.MapData, colour: str, genre: str | None = None,
                   view: tuple | None = None, group: int | None = None, **overlays) -> tuple:
    """The Explore map (:func:`map_figure` of ``data``, what :func:`widgets.map_for` returned) and its
    :class:`MapBase`: the colour layers are built once per map (``scope``), colouring, chosen ``group`` (a map
    with groups coloured by cluster) and ``view`` and shared by every session; only ``overlays``
    (``highlight``, ``selected``, ``focus``) are added per run."""
    limit = map_point_limit()
    group = group if colour == "cluster" and data.groups is not None else None
    where = (data, *scope, colour, genre, limit, group)
    view = tuple(float(v) for v in view) if view is not None and len(data.frame) > limit else None
    base = _map_base(*where) if view is None else _view_base(*where, view)
    fig = map_figure(data.frame, colour, genre=genre, summaries=data.summaries, base=base, limit=limit, view=view,
                     groups=data.groups, group=group, background=data.background, **overlays)
    return fig, base


def draw(fig, base: MapBase, scope: tuple) -> None:
    """The map: ``st.plotly_chart`` for a map drawn whole; above the point limit, a caption saying what is
    drawn, then the :func:`ui.plotly_map.plotly_map` element."""
    if not base.sampled:
        st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key=SMALL_KEY,
                        width="stretch")
        return
    st.caption(f"The map shows the density of all {base.n_rows:,} trailers and {len(base.rows):,} sampled points "
               "of this view: zoom or pan to sample the points of another region. Search and filters count "
               f"matches over the whole set (at most {MATCH_CAP:,} of the view outlined).")
    plotly_map.plotly_map(fig, LARGE_KEY, scope)
