"""Trailer page: one trailer, its cluster and its neighbours in two spaces side by side."""

import streamlit as st

from mmx_core import workspace
from mmx_core.appkit import map_tables, search
from ui import widgets

view = widgets.setup("Trailer")
infos = {c.name: c for c in workspace.list_sets()}
names = list(infos)
if "w_first" not in st.session_state:   # coarse | fine when both are shipped, unless a set was chosen
    both = {"coarse", "fine"} <= set(names) and view.set == "published"
    st.session_state["w_first"] = "coarse" if both else view.set if view.set in names else "published"
first_name = st.sidebar.selectbox("First space", names, key="w_first", format_func=lambda n: infos[n].label)
emb = widgets.load_set(first_name)
default_second = next((n for n in ("fine", "coarse") if n in names and n != first_name), "")
if view.compare not in names or view.compare == first_name:
    widgets.update(compare=default_second)
second_name = widgets.bound(st.sidebar.selectbox, "compare", "Second space", [""] + [n for n in names if n != first_name],
                       format_func=lambda n: n or "none")
k = st.sidebar.slider("Neighbours (k)", 5, 30, 10, key="w_k")
if emb is None:
    st.stop()

query = st.text_input("Find a trailer by title", key="w_trailer_q", placeholder="e.g. the end of the world")
if query:
    rows = search.search_titles(emb.metadata, query, limit=20)
    if not len(rows):
        st.warning(f"No title matches {query!r}.")
    else:
        options = emb.ids[rows].astype(str).tolist()
        titles = dict(zip(options, emb.metadata["display_title"].iloc[rows]))
        pick = st.selectbox("Matches", options, format_func=titles.get, key="w_trailer_pick")
        if st.button("Show this trailer", key="show_pick"):
            widgets.update(trailer=pick)

view = st.session_state["view"]
if not view.trailer or view.trailer not in emb:
    st.info("Pick a trailer: search above, or click a point on the Explore map.")
    st.stop()

data = widgets.map_for(emb.name, view.projection, view.mcs)
frame = data.frame if data is not None else map_tables.base_frame(emb).assign(cluster_label="?")
row = frame.iloc[emb.index_of(view.trailer)]
card_col, first_col, second_col = st.columns([1.1, 2, 2])
with card_col:
    widgets.trailer_card(row, image_width=260)
    if data is not None and row["cluster"] >= 0:
        summary = data.summaries.set_index("cluster").loc[row["cluster"]]
        st.caption(f"Cluster of {summary['size']} trailers; over-represented: {summary['genres'] or '-'}")

second = widgets.load_set(second_name) if second_name else None
table = map_tables.side_by_side(emb, second, view.trailer, k=k)
with first_col:
    st.subheader(f"Neighbours in {emb.name}")
    target = widgets.neighbour_list(table, suffix="_a" if second is not None and "id_a" in table else "", key="nb_a")
with second_col:
    if second is None:
        st.info("No second space chosen. The shipped coarse and fine embeddings appear here once "
                "models/coarse_embeddings.npz and models/fine_embeddings.npz exist.")
    elif "id_b" not in table:
        st.warning(f"This trailer is not in {second_name}.")
    else:
        st.subheader(f"Neighbours in {second_name}")
        if second.generated:
            st.caption("generated features")
        target = widgets.neighbour_list(table, suffix="_b", key="nb_b") or target
        st.caption(f"{int(table['in_both_a'].sum())} of {k} neighbours are found in both spaces (✔ both).")
if target is not None:
    widgets.update(trailer=target)
    st.rerun()
widgets.sync_url()
