"""MMX Explorer, Explore page (the landing page): the map of a collection's sub-genre clusters."""

import numpy as np
import streamlit as st

from mmx_core.appkit import export, figures, mapview, search
from mmx_core.base.genres import PAPER_GENRES
from mmx_core.appkit.viewstate import COLOURS, MCS_RANGE, MCS_STEP, PROJECTIONS
from ui import widgets

view = widgets.setup("Explore")
st.sidebar.title("MMX Explorer")
emb = widgets.choose_set()
if emb is None:
    st.stop()
projection = widgets.bound(st.sidebar.radio, "projection", "Projection", PROJECTIONS, horizontal=True,
                      format_func=str.upper)
params = widgets.projection_params(projection)
mcs = widgets.bound(st.sidebar.slider, "mcs", "HDBSCAN minimum cluster size", *MCS_RANGE, step=MCS_STEP)
colour = widgets.bound(st.sidebar.selectbox, "colour", "Colour by", [c for c in COLOURS if c != "change"],
                  format_func={"cluster": "sub-genre cluster", "genre": "one genre", "year": "year"}.get)
genre = widgets.bound(st.sidebar.selectbox, "genre", "Highlighted genre", PAPER_GENRES) if colour == "genre" else None
st.sidebar.divider()
query = widgets.bound(st.sidebar.text_input, "q", "Search titles", placeholder="e.g. blade runner")
picked = widgets.bound(st.sidebar.multiselect, "genres", "Filter: any of these genres", PAPER_GENRES, key="w_genres")
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
frame = data.frame
if data.note:
    st.caption(data.note)
matches = np.zeros(len(frame), dtype=bool)
matches[search.search_titles(frame, query, limit=None)] = bool(query)
filtered = search.filter_mask(frame, st.session_state["view"].genres, st.session_state["view"].years)
highlight = matches | (~filtered.all() & filtered)


@st.fragment
def map_and_panels(emb, data, colour: str, genre: str | None, highlight: np.ndarray) -> None:
    """The map, the trailer card and neighbours, the clusters and the selection: what a click changes.

    A fragment, so a click, box or lasso on the map (or choosing a cluster) reruns only this part;
    the sidebar's controls rerun the whole page.
    """
    frame = data.frame
    rows = mapview.selected_rows(st.session_state.get("map"), len(frame))  # the last click/box/lasso
    if len(rows) == 1 and st.session_state.get("_map_pick") != (emb.name, int(rows[0])):
        st.session_state["_map_pick"] = (emb.name, int(rows[0]))
        widgets.update(trailer=str(frame["id"].iloc[rows[0]]), cluster=None)
        st.session_state.pop("w_cluster", None)
    map_col, side_col = st.columns([3, 1.1])
    options = [None] + data.summaries["cluster"].tolist()
    summaries = data.summaries
    labels = dict(zip(summaries["cluster"], summaries["label"] + " (" + summaries["size"].astype(str) + ")"))
    if st.session_state.get("w_cluster") not in options:
        st.session_state.pop("w_cluster", None)
    with side_col:
        widgets.bound(st.selectbox, "cluster", "Zoom to cluster", options,
                      format_func=lambda c: "all" if c is None else labels[c])
    view = st.session_state["view"]
    selected_row = emb.index_of(view.trailer) if view.trailer and view.trailer in emb else None
    focus = None
    if view.cluster is not None and (members := mapview.cluster_members(data, view.cluster)).shape[0]:
        pad = 0.05 * max(np.ptp(members["x"]), np.ptp(members["y"]), 1e-3)
        focus = (members["x"].min() - pad, members["x"].max() + pad, members["y"].min() - pad, members["y"].max() + pad)
    fig = widgets.map_figure_for(emb.name, data, colour, genre, highlight=highlight if highlight.any() else None,
                                 selected=selected_row, focus=focus)
    with map_col:
        st.markdown(f"**{emb.name}**: {len(frame):,} trailers · {len(data.summaries)} clusters · "
                    f"{int((frame['cluster'] < 0).sum()):,} noise (grey)"
                    + (f" · {int(highlight.sum())} matches outlined" if highlight.any() else ""))
        st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key="map",
                                width="stretch")
        widgets.hover_card("map", frame["id"].tolist(), emb.name,
                           frame["dataset"].iloc[0] if "dataset" in frame and len(frame) else None)

    with side_col:
        if selected_row is not None:
            st.subheader("Trailer")
            widgets.trailer_card(frame.iloc[selected_row])
            st.markdown("**Nearest neighbours**")
            neighbours = widgets.neighbours_for(emb.name, view.trailer, k=5)
            if (target := widgets.neighbour_list(neighbours, key="side_nb", show_images=False)) is not None:
                widgets.update(trailer=target)
                st.rerun()
            st.page_link("pages/1_Trailer.py", label="Open the trailer page →")
        else:
            st.info("Click a point for its trailer card and neighbours; box or lasso (tools above the map) to select "
                    "many; click legend entries to hide or show clusters.")
        st.subheader("Clusters")
        st.dataframe(data.summaries[["label", "size", "genres", "typical"]], hide_index=True, height=260)

    view = st.session_state["view"]
    if view.cluster is not None:
        rows = mapview.cluster_members(data, view.cluster).index.to_numpy()
        heading = f"Members of {labels.get(view.cluster)}"
    elif len(rows) > 1:
        heading = f"Selection: {len(rows)} trailers"
    else:
        rows, heading = np.flatnonzero(highlight), f"Matches: {int(highlight.sum())} trailers"
    if len(rows):
        st.subheader(heading)
        chosen = frame.iloc[rows][["id", "display_title", "year", "genres", "cluster_label"]]
        table_col, hist_col = st.columns([1, 1])
        table_col.dataframe(chosen, hide_index=True, height=300, key="selection_table")
        table_col.download_button("Download the selection as CSV", export.spreadsheet_safe_csv(chosen), "selection.csv",
                                  "text/csv")
        hist_col.plotly_chart(figures.share_histogram(mapview.genre_share(frame["genre_list"].iloc[rows]),
                                                      mapview.genre_share(frame["genre_list"])), width="stretch")
        hist_col.plotly_chart(figures.year_histogram(frame["year"].iloc[rows].astype(float),
                                                     frame["year"].astype(float)), width="stretch")
    widgets.sync_url()


map_and_panels(emb, data, colour, genre, highlight)
widgets.sync_url()
