"""MMX Explorer, Explore page (the landing page): the map of a collection's sub-genre clusters, and the workbench."""

import numpy as np
import streamlit as st

from mmx_core.appkit import map_groups, search
from mmx_core.trailers.genres import PAPER_GENRES
from mmx_core.appkit.url_state import COLOURS, MCS_RANGE, MCS_STEP, PROJECTIONS
from ui import annotation_panels as notes, cluster_card, explore_map, explore_panels, widgets

COLOUR_NAMES = {"cluster": "sub-genre cluster", "named": "named sub-genre", "tag": "tag", "genre": "one genre",
                "year": "year"}

view = widgets.setup("Explore")
emb = widgets.choose_set()
if emb is None:
    st.stop()
projection = widgets.bound(st.sidebar.radio, "projection", "Projection", PROJECTIONS, horizontal=True,
                           format_func=str.upper)
params = widgets.projection_params(projection)
mcs = widgets.bound(st.sidebar.slider, "mcs", "HDBSCAN minimum cluster size", *MCS_RANGE, step=MCS_STEP)
with st.sidebar.expander("Clusters and noise at each size"):
    cluster_card.draw_mcs_sweep(emb, mcs)
colour = widgets.bound(st.sidebar.selectbox, "colour", "Colour by", [c for c in COLOURS if c != "change"],
                       format_func=COLOUR_NAMES.get)
genre = widgets.bound(st.sidebar.selectbox, "genre", "Highlighted genre", PAPER_GENRES) if colour == "genre" else None
st.sidebar.divider()
query = widgets.bound(st.sidebar.text_input, "q", "Search titles", placeholder="e.g. blade runner")
widgets.bound(st.sidebar.multiselect, "genres", "Filter: any of these genres", PAPER_GENRES)
years_known = emb.metadata["year"].dropna().astype(int) if "year" in emb.metadata else None
if years_known is not None and len(years_known):
    low, high = int(years_known.min()), int(years_known.max())
    if "w_years" not in st.session_state:
        st.session_state["w_years"] = view.years or (low, high)
    years = st.sidebar.slider("Filter: years", low, high, key="w_years")
    widgets.update(years=None if tuple(years) == (low, high) else tuple(years))

data = widgets.map_for(emb.name, projection, mcs, params)
if data is None:
    st.stop()
scope = explore_map.scope_of(emb.name, data)
annotated, revision = notes.annotated_map(emb.name, data, scope)
tagged = notes.tag_filter(annotated)
notes.undo_and_views(emb.name)
notes.annotations_file(emb.name, data.frame["id"], data.frame["display_title"])
shown = annotated.data if annotated is not None else data
frame = shown.frame
if data.note:
    st.caption(data.note)
matches = np.zeros(len(frame), dtype=bool)
matches[search.search_titles(frame, query, limit=None)] = bool(query)
filtered = search.filter_mask(frame, st.session_state["view"].genres, st.session_state["view"].years)
highlight = matches | (~filtered.all() & filtered) | (tagged if tagged is not None else False)


@st.fragment
def map_and_panels(emb, data, colour: str, genre: str | None, highlight: np.ndarray) -> None:
    """The map, the trailer card and neighbours, the clusters, the named sub-genres and the selection: what a
    click changes.

    A fragment, so a click, box or lasso on the map (or choosing a cluster) reruns only this part;
    the sidebar's controls and every change to the annotations rerun the whole page.
    """
    frame = data.frame
    rows = explore_panels.take_map_click(emb.name, frame, explore_map.last_selection(data))
    map_col, side_col = st.columns([3, 1.1])
    names = map_groups.chooser_names(data.summaries, "cluster")
    with side_col:
        explore_panels.cluster_chooser(data, names)
    view = st.session_state["view"]
    selected_row = emb.index_of(view.trailer) if view.trailer and view.trailer in emb else None
    group = explore_panels.chosen_group(data)
    named_rows = notes.named_members(annotated, view.named)
    chosen = map_groups.chosen_members(data, view.cluster, group)
    focus = map_groups.focus_on(chosen if chosen is not None else frame.iloc[named_rows]) \
        if chosen is not None or named_rows is not None else None
    # named sub-genres and tags are layers of the annotated map, drawn as clusters
    layers = {"named": annotated.by_name, "tag": annotated.by_tag}.get(colour, data) if annotated is not None else data
    drawn_colour = "cluster" if colour in ("named", "tag") else colour
    outlined = highlight.copy()
    if named_rows is not None:
        outlined[named_rows] = True
    map_scope = (*scope[:2], (*scope[2], ("annotations", colour, revision)))   # names change labels and layers
    fig, base = explore_map.map_figure_for(map_scope, layers, drawn_colour, genre,
                                           view=explore_map.region(data, scope, focus), group=group,
                                           highlight=outlined if outlined.any() else None, selected=selected_row,
                                           focus=focus)
    with map_col:
        groups = f" in {len(data.groups)} groups" if data.groups is not None else ""
        st.markdown(f"**{emb.name}**: {len(frame):,} trailers · {len(data.summaries)} clusters{groups} · "
                    f"{int((frame['cluster'] < 0).sum()):,} noise (grey)"
                    + (f" · {int(outlined.sum())} matches outlined" if outlined.any() else ""))
        explore_map.draw(fig, base, scope)
        widgets.hover_card(explore_map.key_of(data), frame["id"].to_numpy(), emb.name,
                           frame["dataset"].iloc[0] if "dataset" in frame and len(frame) else None)
        if view.cluster is not None:
            cluster_card.draw_cluster_card(emb, data, view.cluster, mcs)
    with side_col:
        if view.cluster is not None:
            notes.name_cluster(emb.name, data, view.cluster, annotated)
        explore_panels.trailer_panel(emb, data, selected_row, annotate_trailer=lambda row: notes.trailer_annotations(
            emb.name, view.trailer, annotated, row))
        st.subheader("Named sub-genres")
        notes.named_panel(emb.name, annotated, names)
        explore_panels.clusters_table(data)
    ids = explore_panels.selection_panel(data, rows, highlight, names, named_rows)
    notes.selection_actions(emb.name, ids, annotated)
    widgets.sync_url()


map_and_panels(emb, shown, colour, genre, highlight)
widgets.sync_url()
