"""The cluster card and the minimum-cluster-size sweep, drawn for the Explore page.

:func:`draw_cluster_card`: the most typical members as a thumbnail grid (a button under each opens it), the most
typical trailer's video (or thumbnail), size, persistence, stability and the distinguishing terms with both lifts.
:func:`draw_mcs_sweep`: clusters and noise against the minimum cluster size, the slider's value marked, and the
cliff warning. What they show is computed by :mod:`mmx_core.appkit.cardview` (the ``cluster-card`` command prints
the same), cached per server by set contents.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmx_core import workspace
from mmx_core.appkit import cardview, trailer_media
from mmx_core.base.errors import MMXError
from ui import widgets

GRID_COLUMNS = 4


@st.cache_data(show_spinner=False, max_entries=500)
def _card(name: str, stamp: tuple, cluster: int, mcs: int):
    return cardview.card(workspace.load_set(name), cluster, mcs)


@st.cache_data(show_spinner=False, max_entries=24)
def _sweep(name: str, stamp: tuple) -> pd.DataFrame:
    return cardview.sweep(workspace.load_set(name))


def draw_cluster_card(emb, data, cluster: int, mcs: int) -> None:
    """The card of ``cluster`` of the map ``data`` (of set ``emb`` at minimum cluster size ``mcs``)."""
    try:
        with st.spinner("Re-clustering at the neighbouring sizes for the stability score (once per set)…"):
            card = _card(emb.name, widgets.set_stamp(emb.name), int(cluster), int(mcs))
    except MMXError as exc:
        st.error(str(exc))
        return
    rows = data.frame.set_index("id")
    st.subheader(f"Cluster card: {card.label}")
    size_col, persist_col, stable_col = st.columns(3)
    size_col.metric("size", f"{card.size:,}")
    persist_col.metric("persistence", f"{card.persistence:.2f}",
                       help="HDBSCAN's cluster persistence: 1 holds over all density levels, near 0 appears briefly")
    stable_col.metric("stability", "n/a" if card.stability is None else f"{card.stability:.2f}",
                      help="mean best Jaccard of its members with a cluster at the neighbouring minimum cluster "
                           "sizes (" + (", ".join(f"{m}: {j:.2f}" for m, j in card.neighbour_jaccard.items())
                                        or "none") + ")")
    if card.note:
        st.caption(f"Note: {card.note}.")
    if card.typical_ids:
        _most_typical(card.typical_ids[0], rows)
        _grid(card.typical_ids, rows)
    scope = {"parent": f"its {len(card.siblings)} sibling clusters under the same branch of the tree",
             "all": "all other clusters", "none": "no other cluster"}[card.sibling_scope]
    st.markdown(f"**What sets it apart** (lift against the collection and against {scope})")
    st.dataframe(cardview.terms_table(card), hide_index=True)


def _row(trailer_id: str, rows: pd.DataFrame) -> pd.Series:
    return rows.loc[trailer_id] if trailer_id in rows.index else pd.Series(dtype=object)


def _most_typical(trailer_id: str, rows: pd.DataFrame) -> None:
    """The most typical member's video when its source is reachable, else its thumbnail."""
    row = _row(trailer_id, rows)
    video = trailer_media.trailer_video(trailer_id, row)
    if video is not None:
        st.video(str(video.path), start_time=video.start_of(None))
    elif image := trailer_media.thumbnail_bytes(trailer_id, row):
        st.image(image, width=320)
    st.caption(f"Most typical: {row.get('display_title', trailer_id)}")


def _grid(ids: list[str], rows: pd.DataFrame) -> None:
    """Thumbnails of ``ids`` in rows of :data:`GRID_COLUMNS`; the button under one opens it (the view's trailer)."""
    for start in range(0, len(ids), GRID_COLUMNS):
        for col, trailer_id in zip(st.columns(GRID_COLUMNS), ids[start:start + GRID_COLUMNS]):
            row = _row(trailer_id, rows)
            if image := trailer_media.thumbnail_bytes(trailer_id, row):
                col.image(image, width="stretch")
            if col.button(str(row.get("display_title", trailer_id)), key=f"card_open_{trailer_id}"):
                widgets.update(trailer=trailer_id)
                st.rerun()


def draw_mcs_sweep(emb, mcs: int) -> None:
    """Clusters and noise at every minimum cluster size of the slider, ``mcs`` marked, and the cliff warning."""
    try:
        with st.spinner("Clustering at every minimum cluster size (once per set)…"):
            table = _sweep(emb.name, widgets.set_stamp(emb.name))
    except MMXError as exc:
        st.error(str(exc))
        return
    if len(table) < 2:
        st.caption("Too few trailers for a sweep of the minimum cluster size.")
        return
    st.plotly_chart(cardview.sweep_figure(table, int(mcs)), width="stretch", key="mcs_sweep")
    if warning := cardview.sweep_warning(table, int(mcs)):
        st.warning(warning)
