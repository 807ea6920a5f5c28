"""The Explore page's panels that a click on the map changes.

The click itself, the cluster chooser (two levels on a map with sub-genre groups: a group, then a cluster
of it), the trailer card with its neighbours, and the table and histograms of the selection.

Drawn inside the page's map fragment (``app.py``), so a click reruns only them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from mmx_core.appkit import figures, map_groups, map_tables
from mmx_core.base.sheets import spreadsheet_safe_csv
from ui import widgets


def take_map_click(name: str, frame, event=None) -> np.ndarray:
    """Rows of the last click, box or lasso on the map (``event``, the selection state of ``st.plotly_chart``;
    default: that of the chart of key ``"map"``); a new single click selects its trailer (set ``name``) and
    leaves the cluster zoom."""
    rows = map_tables.selected_rows(event if event is not None else st.session_state.get("map"), len(frame))
    if len(rows) == 1 and st.session_state.get("_map_pick") != (name, int(rows[0])):
        st.session_state["_map_pick"] = (name, int(rows[0]))
        widgets.update(trailer=str(frame["id"].iloc[rows[0]]), cluster=None)
        st.session_state.pop("w_cluster", None)
    return rows


def chosen_group(data: map_tables.MapData) -> int | None:
    """The view's ``group`` if the map has that group, else None."""
    group = st.session_state["view"].group
    return group if data.groups is not None and group in set(data.groups["group"]) else None


def cluster_chooser(data: map_tables.MapData, names: dict) -> None:
    """The "Zoom to cluster" box (the view's ``cluster``; a cluster no longer on the map is forgotten); on a map
    with groups, a "Sub-genre group" box (the view's ``group``) first, then the clusters of the chosen group."""
    if data.groups is None:
        _cluster_box(data.summaries["cluster"].tolist(), names, "Zoom to cluster")
        return
    view, groups = st.session_state["view"], map_groups.group_names(data)
    if view.cluster in names and view.group is None:                  # a link naming only a cluster: its group
        widgets.update(group=int(data.summaries.set_index("cluster").at[view.cluster, "group"]))
        st.session_state.pop("w_group", None)
    elif view.group is not None and chosen_group(data) is None:       # a group no longer on the map
        widgets.update(group=None)
        st.session_state.pop("w_group", None)
    options = [None] + data.groups["group"].tolist()
    if st.session_state.get("w_group") not in options:
        st.session_state.pop("w_group", None)
    group = widgets.bound(st.selectbox, "group", "Sub-genre group", options,
                          format_func=lambda g: f"all {len(groups)} groups" if g is None else groups[g])
    _cluster_box(map_groups.group_clusters(data, group)["cluster"].tolist() if group is not None else [], names,
                 "Sub-genre in this group" if group is not None else None)


def _cluster_box(clusters: list, names: dict, label: str | None) -> None:
    """A box of ``clusters`` labelled ``label`` (None: no box) bound to the view's ``cluster``; a cluster no
    longer offered is forgotten."""
    options = [None] + clusters
    if st.session_state["view"].cluster not in options:
        widgets.update(cluster=None)
    if st.session_state.get("w_cluster") not in options:
        st.session_state.pop("w_cluster", None)
    if label is not None:
        widgets.bound(st.selectbox, "cluster", label, options, format_func=lambda c: "all" if c is None else names[c])


def trailer_panel(emb, data: map_tables.MapData, selected_row: int | None, annotate_trailer=None) -> None:
    """The selected trailer's card (then ``annotate_trailer(row)``: its names, tags and note) and nearest
    neighbours with thumbnails (a click on one selects it), or a hint."""
    if selected_row is not None:
        st.subheader("Trailer")
        row = data.frame.iloc[selected_row].copy()
        row["cluster_label"] = map_groups.cluster_path(data, selected_row)   # "group > cluster" on a grouped map
        widgets.trailer_card(row)
        if annotate_trailer is not None:
            annotate_trailer(selected_row)
        st.markdown("**Nearest neighbours**")
        neighbours = widgets.neighbours_for(emb.name, st.session_state["view"].trailer, k=5)
        if (target := widgets.neighbour_list(neighbours, key="side_nb")) is not None:
            widgets.update(trailer=target)
            st.rerun()
        st.page_link("pages/1_Trailer.py", label="Open the trailer page →")
    else:
        st.info("Click a point for its trailer card and neighbours; box or lasso (tools above the map) to select "
                "many; click legend entries to hide or show clusters.")


def clusters_table(data: map_tables.MapData) -> None:
    """The table of the map's clusters (of the chosen group; of the groups on a grouped map)."""
    group = chosen_group(data)
    if data.groups is not None and group is None:
        st.subheader("Sub-genre groups")
        table = data.groups
    else:
        st.subheader("Clusters" if group is None else "Clusters in this group")
        table = data.summaries if group is None else map_groups.group_clusters(data, group)
    st.dataframe(table[["label", "size", "genres", "typical"]], hide_index=True, height=260)


def selection_panel(data: map_tables.MapData, rows: np.ndarray, highlight: np.ndarray, names: dict,
                    named_rows: np.ndarray | None = None) -> list[str]:
    """The chosen cluster's members, else the chosen named sub-genre's (``named_rows``), else the box/lasso
    selection (``rows``), else the search and filter matches: a table (downloadable, with the trailers' names
    and tags on an annotated map) beside their genre and year histograms against the collection. Returns the
    ids shown."""
    frame, view, group = data.frame, st.session_state["view"], chosen_group(data)
    if view.cluster is not None or group is not None:
        rows = map_groups.chosen_members(data, view.cluster, group).index.to_numpy()
        heading = (f"Members of {names.get(view.cluster)}" if view.cluster is not None
                   else f"Members of the group {map_groups.group_names(data)[group]}")
    elif named_rows is not None:
        rows, heading = named_rows, f"Members of ★ {view.named}: {len(named_rows)} trailers on this map"
    elif len(rows) > 1:
        heading = f"Selection: {len(rows)} trailers"
    else:
        rows, heading = np.flatnonzero(highlight), f"Matches: {int(highlight.sum())} trailers"
    if not len(rows):
        return []
    st.subheader(heading)
    columns = ["id", "display_title", "year", "genres", "cluster_label"] + [c for c in ("subgenres", "tags") if c in frame]
    chosen = frame.iloc[rows][columns]
    table_col, hist_col = st.columns([1, 1])
    table_col.dataframe(chosen, hide_index=True, height=300, key="selection_table")
    table_col.download_button("Download the selection as CSV", spreadsheet_safe_csv(chosen), "selection.csv",
                              "text/csv", on_click="ignore")
    hist_col.plotly_chart(figures.share_histogram(map_tables.genre_share(frame["genre_list"].iloc[rows]),
                                                  data.genre_share), width="stretch")
    hist_col.plotly_chart(figures.year_histogram(frame["year"].iloc[rows].astype(float),
                                                 frame["year"].astype(float)), width="stretch")
    return chosen["id"].tolist()
