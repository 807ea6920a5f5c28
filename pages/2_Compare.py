"""Compare page: two embedding spaces side by side (coarse vs fine), neighbour overlap and cluster flows."""

import numpy as np
import streamlit as st

from mmx_core import workspace
from mmx_core.appkit import figures, map_tables
from mmx_core.appkit.annotated_map import named_in_two_spaces
from mmx_core.appkit.map_figure import map_figure
from mmx_core.base.errors import MMXError
from ui import annotation_panels as notes, widgets

view = widgets.setup("Compare")
names = [c.name for c in workspace.list_sets()]
if len(names) < 2:
    st.title("Compare two spaces")
    st.info("Only the published set is available. The shipped coarse and fine embeddings appear once "
            "models/coarse_embeddings.npz and models/fine_embeddings.npz exist; runs' embeddings and uploads "
            "(Data page) can be compared too.")
    st.stop()
if view.set not in names or view.compare not in names or view.compare == view.set:
    first = "coarse" if "coarse" in names else names[0]
    widgets.update(set=first, compare="fine" if "fine" in names and first != "fine" else next(n for n in names if n != first))
first = widgets.bound(st.sidebar.selectbox, "set", "Space A", names)
second = widgets.bound(st.sidebar.selectbox, "compare", "Space B", [n for n in names if n != first] or names)
k = st.sidebar.slider("Neighbours (k) for Jaccard@k", 5, 30, 10, key="w_ck")
a, b = widgets.load_set(first), widgets.load_set(second)
if a is None or b is None:
    st.stop()
try:
    with widgets.progress_bar("Comparing the two spaces"):
        result, table = widgets.cached_comparison(first, second, k, view.projection, view.mcs)
except MMXError as exc:
    st.error(str(exc))
    st.stop()

st.markdown(f"**{first}** vs **{second}**: {result.summary['n']:,} common trailers · mean Jaccard@{k} of "
            f"neighbour lists {result.summary['jaccard_mean']:.3f} (1 = same neighbours, 0 = none shared)"
            + (" · generated features" if a.generated or b.generated else ""))
example, show_example = result.split_example(), False
if example:
    with st.expander("Guided example: a coarse cluster that splits in the fine space", expanded=True):
        parts = ", ".join(f"{n} to {label}" for _, label, n in example["targets"][:5])
        st.markdown(f"Cluster **{example['label_a']}** of {first} sends its members to "
                    f"{len(example['targets'])} clusters of {second}: {parts}.")
        show_example = st.toggle("Highlight its members in both maps", key="w_example")

highlight = None
picked = st.session_state.get("_compare_pick", np.zeros(0, dtype=np.int64))
if show_example:
    highlight = (table["cluster_a"] == example["cluster_a"]).to_numpy()
elif len(picked):
    highlight = np.isin(np.arange(len(table)), picked)
colour = st.sidebar.radio("Colour by", ["change", "cluster"], key="w_ccolour",
                          format_func={"change": "neighbour overlap (Jaccard@k)", "cluster": "own clusters"}.get)
events = []
bases = widgets.comparison_bases(first, second, k, view.projection, view.mcs, colour, height=480)
for col, side, name, base in zip(st.columns(2), "ab", (first, second), bases):
    fig = map_figure(map_tables.comparison_map(table, result, side), colour, change=table["jaccard"].to_numpy(),
                     highlight=highlight, height=480, labels=False, title=name, base=base)
    with col:
        events.append(st.plotly_chart(fig, on_select="rerun", key=f"cmp_{name}", width="stretch"))
        widgets.hover_card(f"cmp_{name}", table["id"].tolist(), f"compare:{first}|{second}")
for event in events:
    rows = map_tables.selected_rows(event, len(table))
    if len(rows) > 1 and not np.array_equal(rows, picked):
        st.session_state["_compare_pick"] = rows
        st.rerun()
if len(picked):
    st.caption(f"{len(picked)} trailers selected in one map are outlined in both.")

hist_col, movers_col = st.columns([1, 1.4])
hist_col.plotly_chart(figures.histogram_figure(table["jaccard"], f"Jaccard@{k} per trailer", "Jaccard@k"),
                      width="stretch")
movers_col.markdown("**Movers**: trailers whose neighbours changed most")
movers = table.set_index("id").loc[result.movers["id"]]            # the comparison's movers, lowest Jaccard first
movers_col.dataframe(movers[["display_title", "year", "jaccard", "label_a", "label_b"]].rename(
                     columns={"label_a": f"cluster in {first}", "label_b": f"cluster in {second}"}),
                     hide_index=True, height=260)
named = notes.named_of(first, second)
if named:
    st.markdown(f"**Named sub-genres in the two spaces**: how far each one's members keep their neighbours, and how "
                "many clusters they spread over in each space (match: Jaccard of the best-matching cluster)")
    st.dataframe(named_in_two_spaces(table, named).rename(columns={
        "clusters_a": f"clusters in {first}", "match_a": f"match in {first}", "clusters_b": f"clusters in {second}",
        "match_b": f"match in {second}"}), hide_index=True)
sankey = figures.sankey_figure(result.transitions, result.labels("a", "legend_label"), result.labels("b", "legend_label"))
st.plotly_chart(sankey, width="stretch")
widgets.sync_url()
