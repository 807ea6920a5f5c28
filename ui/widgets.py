"""Widgets shared by the pages: view state <-> URL, the set chooser, cached maps, trailer cards."""

from __future__ import annotations

import contextlib
import dataclasses
import gc

import pandas as pd
import streamlit as st
import streamlit.components.v2  # noqa: F401 - st.components.v2.component (the map hover card)
from streamlit.errors import StreamlitPageNotFoundError

from mmx_core import workspace
from mmx_core.appkit import hovercard, map_tables, trailer_media
from mmx_core.appkit.map_figure import map_base
from mmx_core.base.errors import MMXError
from mmx_core.base.progress import progress_callback
from mmx_core.appkit.url_state import PROJECTION_KNOBS, ViewState
from mmx_core.explore.cached_comparison import comparison
from ui import signin


PAGES = (
    ("app.py", "Explore", ":material/scatter_plot:"),
    ("pages/1_Trailer.py", "Trailer", ":material/movie:"),
    ("pages/2_Compare.py", "Compare coarse vs fine", ":material/compare:"),
    ("pages/3_Train.py", "Train", ":material/model_training:"),
    ("pages/4_Evaluate.py", "Evaluate", ":material/leaderboard:"),
    ("pages/5_Data.py", "Data", ":material/folder_open:"),
)


def setup(title: str) -> ViewState:
    """Page config, the sign-in (served beyond localhost), the sidebar navigation and title, then the view state
    (from the URL on a session's first page)."""
    st.set_page_config(page_title=f"MMX Explorer · {title}", layout="wide")
    signin.require()  # beyond localhost: nothing below renders before the visitor has signed in
    try:
        for path, label, icon in PAGES:
            st.sidebar.page_link(path, label=label, icon=icon)
    except StreamlitPageNotFoundError:
        pass  # a page run as its own entry script (AppTest) has no other pages to link to
    st.sidebar.divider()
    st.sidebar.title("MMX Explorer")
    if "view" not in st.session_state:
        view = ViewState.from_params(st.query_params.to_dict())
        for warning in view.warnings:
            st.toast(f"Ignored from the link: {warning}")
        st.session_state["view"] = view
    return st.session_state["view"]


def update(**changes) -> ViewState:
    """Change the view state (and the URL)."""
    st.session_state["view"] = dataclasses.replace(st.session_state["view"], **changes)
    sync_url()
    return st.session_state["view"]


def sync_url() -> None:
    """Write the view state to the URL query parameters (only values that differ from the defaults)."""
    params = st.session_state["view"].to_params()
    if dict(st.query_params.to_dict()) != params:
        st.query_params.from_dict(params)


def bound(widget, attr: str, label: str, *args, **kwargs):
    """A widget of key ``w_<attr>`` whose value is the view state's ``attr`` (initialised from it, written back)."""
    key = f"w_{attr}"
    view = st.session_state["view"]
    if key not in st.session_state:
        initial = getattr(view, attr)
        st.session_state[key] = list(initial) if isinstance(initial, tuple) else initial
    value = widget(label, *args, key=key, **kwargs)
    if isinstance(value, list):
        value = tuple(value)
    if value != getattr(view, attr):
        update(**{attr: value})
    return value


def choose_set():
    """Sidebar chooser of the embedding sets (the view's ``set``); returns the chosen :class:`EmbeddingSet` (or
    None)."""
    infos = {c.name: c for c in workspace.list_sets()}
    if st.session_state["view"].set not in infos:
        update(set="published")
    name = bound(st.sidebar.selectbox, "set", "Embedding set", list(infos), format_func=lambda n: infos[n].label)
    emb = load_set(name)
    if emb is not None and emb.generated:
        st.sidebar.warning("This set is computed from **generated** expert features, not real trailers.")
    if emb is not None and emb.untrained:
        st.sidebar.warning("This set is computed from features of **untrained backbones** (random weights): it only "
                           "tries the pipeline, its neighbours mean nothing.")
    return emb


def load_set(name: str):
    """The embedding set ``name``, or None with the error shown on the page."""
    try:
        return workspace.load_set(name)
    except MMXError as exc:
        st.error(f"Cannot load the embedding set {name!r}: {exc}")
        return None


def projection_params(projection: str) -> dict:
    """Sliders for the projection's main parameters (sidebar expander), bound to the view's ``pp``; returns
    those changed from the defaults."""
    knobs = PROJECTION_KNOBS.get(projection, [])
    if not knobs:
        return {}
    view, changed = st.session_state["view"], {}
    with st.sidebar.expander("Projection parameters (recomputes the map)"):
        for name, label, low, high, default, step in knobs:
            key = f"w_{projection}_{name}"
            if key not in st.session_state:
                st.session_state[key] = type(default)(dict(view.pp).get(name, default))
            value = st.slider(label, low, high, step=step, key=key)
            if value != default:
                changed[name] = value
    if tuple(sorted(changed.items())) != view.pp:
        update(pp=tuple(sorted(changed.items())))
    return changed


@contextlib.contextmanager
def progress_bar(text: str):
    """Route library progress to a Streamlit progress bar for the duration of the block."""
    bar = st.progress(0.0, text=text)

    def report(description: str, done: int, total: int | None) -> None:
        bar.progress(min(1.0, done / total) if total else 0.5, text=f"{text}: {description} {done}/{total or '?'}")

    with progress_callback(report):
        yield
    bar.empty()


def settle_shared() -> None:
    """Collect garbage once, then leave every object alive now out of later collections (``gc.freeze``).

    A full garbage collection walks every object of the process: about 0.15 s for the libraries alone
    (torch, pandas, plotly) and 0.23 s with a loaded set, more than the rest of a click on the map.
    Streamlit runs one after every script run unless ``runner.postScriptGC`` is off (it is, in
    .streamlit/config.toml), and Python's own collector runs them now and then. The libraries and the
    shared caches (loaded sets, maps, figures) live as long as the server, so they are frozen once
    loaded; what sessions create later is collected as usual. Called when this module is imported and
    after each shared cache entry is built.
    """
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False, max_entries=12)
def _map(name: str, stamp: tuple, projection: str, mcs: int, params: tuple) -> map_tables.MapData:
    emb = workspace.load_set(name)
    data = map_tables.map_data(emb, projection, mcs, dict(params))
    map_tables.warm_neighbours(emb)
    settle_shared()
    return data


def set_stamp(name: str) -> tuple | None:
    """What identifies the current contents of set ``name``'s file (:func:`workspace.file_stamp`)."""
    return workspace.file_stamp(workspace.set_info(name).path)


def map_for(name: str, projection: str, mcs: int, params: dict | None = None) -> map_tables.MapData | None:
    """Projection and clusters of a set (cached in the server process and on disk)."""
    stamp, key = set_stamp(name), tuple(sorted((params or {}).items()))
    try:
        with progress_bar(f"Computing the {projection.upper()} map and clusters of {name}"):
            return _map(name, stamp, projection, mcs, key)
    except MMXError as exc:
        st.error(str(exc))
        return None


@st.cache_data(show_spinner=False, max_entries=2000)
def _neighbours(name: str, stamp: tuple, trailer_id: str, k: int):
    return map_tables.neighbour_table(workspace.load_set(name), trailer_id, k=k)


def neighbours_for(name: str, trailer_id: str, k: int):
    """:func:`map_tables.neighbour_table` of set ``name`` (cached per set contents, trailer and ``k``)."""
    return _neighbours(name, set_stamp(name), trailer_id, k)


def trailer_card(frame_row, image_width: int = 220) -> None:
    """Thumbnail (or, for a trailer extracted from a reachable video, its player), title, year, genres and
    cluster of one trailer."""
    video = trailer_media.trailer_video(frame_row["id"], frame_row)
    if video is not None:
        st.video(str(video.path), start_time=video.start_of(None))
    elif image := trailer_media.thumbnail_bytes(frame_row["id"], frame_row):
        st.image(image, width=image_width)
    year = frame_row["year"]
    st.markdown(f"**{frame_row['display_title']}** ({'?' if pd.isna(year) else int(year)})  \n"
                f"{frame_row['genres'] or 'no genres'}  \ncluster: {frame_row['cluster_label']}")


def neighbour_list(table, suffix: str = "", key: str = "nb") -> str | None:
    """Neighbours as rows (thumbnail, title button, similarity, shared genres); returns a clicked id."""
    clicked = None
    for i, row in table.iterrows():
        image_col, text_col = st.columns([1, 3], vertical_alignment="center")
        if image := trailer_media.thumbnail_bytes(row[f"id{suffix}"], {"dataset": row.get(f"dataset{suffix}")}):
            image_col.image(image, width=90)
        mark = " ✔ both" if row.get(f"in_both{suffix}", False) else ""
        if text_col.button(f"{row[f'display_title{suffix}']}", key=f"{key}_{i}"):
            clicked = row[f"id{suffix}"]
        text_col.caption(f"similarity {row[f'score{suffix}']:.3f}{mark} · shared: {row[f'shared_genres{suffix}'] or '-'}")
    return clicked


@st.cache_resource(show_spinner=False, max_entries=6)
def _comparison(first: str, second: str, stamps: tuple, k: int, projection: str, mcs: int):
    a = workspace.load_set(first)
    result = comparison(a, workspace.load_set(second), k=k, cluster_params={"min_cluster_size": mcs},
                        projection_params={"method": projection})
    table = map_tables.comparison_table(result, a)
    settle_shared()
    return result, table


def cached_comparison(first: str, second: str, k: int, projection: str, mcs: int):
    """The comparison of two sets (:class:`SpaceComparison`, what ``compare`` prints) and its table for the
    page (:func:`map_tables.comparison_table`), cached while both files are unchanged."""
    return _comparison(first, second, (set_stamp(first), set_stamp(second)), k, projection, mcs)


@st.cache_resource(show_spinner=False, max_entries=12)
def _comparison_bases(first: str, second: str, stamps: tuple, k: int, projection: str, mcs: int, colour: str,
                      height: int) -> tuple:
    result, table = _comparison(first, second, stamps, k, projection, mcs)
    change = table["jaccard"].to_numpy()
    bases = tuple(map_base(map_tables.comparison_map(table, result, side), colour, change=change, height=height,
                                   labels=False, title=name, encode=True)
                  for side, name in (("a", first), ("b", second)))
    settle_shared()
    return bases


def comparison_bases(first: str, second: str, k: int, projection: str, mcs: int, colour: str,
                     height: int = 480) -> tuple:
    """The two maps of :func:`cached_comparison` without their overlays (:func:`map_base` of
    :func:`map_tables.comparison_map` of each side, coloured by ``colour``, titled by the set), shared by every
    session; give each to :func:`map_figure` as ``base`` with the same frame and arguments."""
    return _comparison_bases(first, second, (set_stamp(first), set_stamp(second)), k, projection, mcs, colour,
                             height)


_HOVER_CARD = st.components.v2.component("mmx_hover_card", js=hovercard.static_text("hovercard.js"))


@st.fragment
def hover_card(chart_key: str, ids, scope: str, dataset: str | None = None) -> None:
    """Thumbnail hover card for the plotly chart of ``chart_key`` (rows of ``ids``; ``scope`` names the set;
    ``dataset``: the data set folder of a set extracted from videos, whose thumbnails it shows).

    The browser script asks for one thumbnail at a time; only this fragment reruns to answer.
    """
    key = f"{chart_key}_hover"
    reply = hovercard.hover_reply(ids, (st.session_state.get(key) or {}).get("want"), scope, dataset)
    _HOVER_CARD(key=key, data={"target": chart_key, "scope": scope, "reply": reply,
                               "css": hovercard.static_text("hovercard.css")},
                default={"want": None}, on_want_change=lambda: None, height=0)


settle_shared()  # the libraries imported above stay for the server's life
