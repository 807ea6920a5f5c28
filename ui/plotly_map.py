"""The map of a large collection: a components-v2 element drawing a plotly figure that reports zoom and pan.

``st.plotly_chart`` does not report zoom and pan; this element does, and clicks and box/lasso selections.

The script (``plotly_map.js``) runs in the app page and draws with plotly.js. plotly.js is the
``plotly.min.js`` shipped inside the installed plotly package, read once per server process
(:func:`plotly_js`) and sent to a browser session the first time it draws a map (the script asks for it
again if it never arrived): offline, nothing to serve, nothing to set up.

After a zoom, pan or reset the script sets the state ``view`` (``[x0, x1, y0, y1]`` or None); after a click,
box or lasso the trigger ``select`` (``{"kind", "rows"}``, rows = the points' ``customdata``). The page keeps
the last selection (:func:`selection_event`, the same shape as ``st.plotly_chart``'s) and the region to
draw (:func:`region`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import plotly.io
import plotly.offline
import streamlit as st
import streamlit.components.v2  # noqa: F401 - st.components.v2.component

from mmx_core.appkit.large_map import parse_view

_COMPONENT = st.components.v2.component("mmx_plotly_map", js=Path(__file__).with_name("plotly_map.js").read_text(
    encoding="utf-8"), isolate_styles=False)


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """The installed plotly package's ``plotly.min.js`` (read once per process)."""
    return plotly.offline.get_plotlyjs()


def selection_key(key: str) -> str:
    """The session-state key where the page keeps the last ``select`` trigger of the map ``key``
    (``{"kind", "rows"}``)."""
    return f"_{key}_selection"


def _remember_selection(key: str) -> None:
    value = (st.session_state.get(key) or {}).get("select")
    if isinstance(value, dict):
        st.session_state[selection_key(key)] = value


def selection_event(key: str) -> dict | None:
    """The last click, box or lasso on the map ``key`` as ``st.plotly_chart`` reports one
    (``{"selection": {"points": [{"customdata": [row]}, ...]}}``), or None before any."""
    value = st.session_state.get(selection_key(key))
    if not isinstance(value, dict) or not isinstance(value.get("rows"), list):
        return None
    return {"selection": {"points": [{"customdata": [row]} for row in value["rows"]]}}


def region(key: str, focus: tuple | None, scope: tuple) -> tuple | None:
    """The region of the map ``key`` to draw: the one the browser last reported after a zoom, pan or reset,
    or ``focus`` when it changed since (a cluster chosen); None (the whole map) for a new ``scope`` (set,
    projection, clusters)."""
    memo = st.session_state.get(f"_{key}_region")
    reported = (st.session_state.get(key) or {}).get("view")
    if memo is None or memo["scope"] != scope:
        memo = {"scope": scope, "focus": focus, "reported": reported, "view": focus}
    elif focus != memo["focus"]:
        memo.update(focus=focus, view=focus)
    elif reported != memo["reported"]:
        memo["view"] = parse_view(reported)
    memo["reported"] = reported
    st.session_state[f"_{key}_region"] = memo
    return memo["view"]


def plotly_map(fig, key: str, scope: tuple, height: int = 640) -> None:
    """Draw ``fig`` (a plotly figure) as the map ``key``; the browser keeps its zoom while ``scope`` is the
    same (layout ``uirevision``)."""
    figure = fig.to_dict()
    figure["layout"]["uirevision"] = f"{scope}|{figure['layout'].get('uirevision', '')}"
    state = st.session_state.get(key) or {}
    missing, sent = state.get("missing", 0), st.session_state.get(f"_{key}_plotly_sent")
    source = plotly_js() if sent != missing else None
    st.session_state[f"_{key}_plotly_sent"] = missing
    _COMPONENT(key=key, data={"figure": plotly.io.to_json(figure, validate=False), "plotly": source,
                              "height": height},
               default={"view": None, "missing": 0}, on_view_change=lambda: None, on_missing_change=lambda: None,
               on_select_change=lambda: _remember_selection(key), height=height)
