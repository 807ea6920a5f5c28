"""Sub-genre groups on a map with many clusters: MapData's groups (the parents of the clusters), the map
coloured by group or inside one group by cluster, and the Explore page's two-level chooser (AppTest)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mmx_core.appkit import map_groups, map_tables
from mmx_core.appkit.figures import LEGEND_WIDTH, cut
from mmx_core.appkit.map_figure import map_figure
from mmx_core.explore import cached_clusters
from mmx_core.explore.scale import POLICY

from test_pages import ROOT, assert_clean

N, DIM, MCS = 8000, 16, 5      # a generated set that HDBSCAN cuts into more than GROUPED_ABOVE clusters


def _generated(n: int, seed: int = 0):
    from mmx_core.trailers.published import load_published
    from mmx_core.explore.generate import generate_set

    return generate_set(load_published(), n, DIM, seed=seed)


@pytest.fixture
def many() -> tuple:
    """The set, its PCA map with many clusters and its clustering (cached on disk for the session)."""
    emb = _generated(N)
    return emb, map_tables.map_data(emb, "pca", MCS), cached_clusters.clusters(emb, min_cluster_size=MCS)


def _names(fig) -> list[str]:
    return [t.name for t in fig.data]


def test_a_map_with_many_clusters_has_groups_that_are_the_parents_of_its_clusters(many):
    emb, data, clusters = many
    assert len(data.summaries) > map_tables.GROUPED_ABOVE
    groups = data.groups
    assert groups is not None and 2 <= len(groups) <= POLICY.max_parents
    assert list(groups.columns[:5]) == ["group", "label", "short_label", "legend_label", "size"]
    assert (np.diff(groups["size"].to_numpy()) <= 0).all()                       # largest first
    parent_of = dict(zip(*clusters.parents()[0][["cluster", "parent"]].to_numpy().T))
    clustered = data.frame[data.frame["cluster"] >= 0]
    assert (clustered["group"].to_numpy() == clustered["cluster"].map(parent_of).to_numpy()).all()
    assert (data.frame.loc[data.frame["cluster"] < 0, "group"] == -1).all()
    sizes = clustered.groupby("group").size()
    assert dict(zip(groups["group"], groups["size"])) == sizes.to_dict()         # a group's size: its members
    row = int(clustered.index[0])
    group_label = groups.set_index("group").at[clustered["group"].iloc[0], "label"]
    assert map_groups.cluster_path(data, row) == f"{group_label} > {data.frame['cluster_label'].iloc[row]}"


def test_a_map_with_few_clusters_has_no_groups():
    data = map_tables.map_data(_generated(1500, seed=1), "pca", 60)
    assert 0 < len(data.summaries) <= map_tables.GROUPED_ABOVE
    assert data.groups is None and "group" not in data.frame and "group" not in data.summaries
    assert map_groups.cluster_path(data, 0) == data.frame["cluster_label"].iloc[0]


def test_the_map_draws_the_groups_then_the_clusters_of_a_chosen_group(many):
    _emb, data, _clusters = many
    frame, groups = data.frame, data.groups
    fig = map_figure(frame, "cluster", summaries=data.summaries, groups=groups)
    assert _names(fig) == ["noise"] + [cut(g, LEGEND_WIDTH) for g in groups["legend_label"]]
    labels = [a["text"] for a in fig.to_dict()["layout"]["annotations"]]
    assert labels and all(label.rstrip("…") in short for label, short in zip(labels, groups["short_label"]))
    first = fig.data[1]
    rows = np.asarray(first.customdata)
    assert (frame["group"].to_numpy()[rows] == groups["group"].iloc[0]).all()
    own = frame["cluster_label"].to_numpy()[rows]                                 # hover names the row's cluster
    assert all(text.endswith(f"cluster: {label}") for text, label in zip(first.hovertext, own))

    group = int(groups["group"].iloc[1])
    inside = map_groups.group_clusters(data, group)
    fig = map_figure(frame, "cluster", summaries=data.summaries, groups=groups, group=group)
    assert _names(fig) == ["noise and other groups"] + [cut(c, LEGEND_WIDTH) for c in inside["legend_label"]]
    grey = np.asarray(fig.data[0].customdata)
    assert len(grey) == int((frame["group"] != group).sum())                      # the other groups and noise
    ungrouped = map_figure(frame, "cluster", summaries=data.summaries)
    assert len(ungrouped.data) == len(data.summaries) + 1                         # without groups: every cluster


@pytest.fixture
def many_set(many) -> str:
    """The set of :func:`many` as an upload the Explore page lists."""
    from mmx_core.appkit.uploads import keep_generated
    from mmx_core.workspace import uploads_dir

    if not (uploads_dir() / "many-clusters" / "embeddings.npz").exists():
        keep_generated("many-clusters", many[0], "test: groups")
    return "upload:many-clusters"


def _legend(at: AppTest) -> list[str]:
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [t["name"] for t in fig["data"] if t["name"] not in ("matches", "selected")]


def test_the_explore_page_chooses_a_group_then_a_cluster_of_it(many, many_set):
    _emb, data, _clusters = many
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update({"set": many_set, "projection": "pca", "mcs": str(MCS)})
    at.run()
    assert_clean(at)
    box = at.selectbox(key="w_group")
    assert box.label == "Sub-genre group" and len(box.options) == len(data.groups) + 1
    assert box.options[1].endswith(f"({data.groups['size'].iloc[0]})")          # largest first, with its size
    assert not [b for b in at.selectbox if b.key == "w_cluster"]                  # no cluster box before a group
    assert len(_legend(at)) == len(data.groups) + 1
    assert "Sub-genre groups" in [s.value for s in at.subheader]

    group = int(data.groups["group"].iloc[1])
    at.selectbox(key="w_group").select_index(2).run()
    assert_clean(at)
    assert at.query_params["group"] == str(group)
    inside = map_groups.group_clusters(data, group)
    clusters = at.selectbox(key="w_cluster")
    assert clusters.label == "Sub-genre in this group" and len(clusters.options) == len(inside) + 1
    assert _legend(at)[1:] == [cut(c, LEGEND_WIDTH) for c in inside["legend_label"]]
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "range" in fig["layout"]["xaxis"]                                       # zoomed to the group
    assert any(s.value.startswith("Members of the group") for s in at.subheader)

    at.selectbox(key="w_cluster").select_index(1).run()
    assert_clean(at)
    assert at.query_params["cluster"] == str(int(inside["cluster"].iloc[0])) and at.query_params["group"] == str(group)
    heading = [s.value for s in at.subheader if s.value.startswith("Members of")]
    assert heading and len(at.dataframe[-1].value) == int(inside["size"].iloc[0])

    linked = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)         # a link naming only a cluster
    linked.query_params.update({"set": many_set, "projection": "pca", "mcs": str(MCS),
                                "cluster": str(int(inside["cluster"].iloc[0]))})
    linked.run()
    assert_clean(linked)
    assert linked.selectbox(key="w_group").value == group and linked.query_params["group"] == str(group)


def test_precompute_writes_the_index_and_the_groups_the_explore_page_reads(tmp_path, monkeypatch):
    from mmx_core.commands.precompute import precompute

    monkeypatch.setattr(map_tables, "GROUPED_ABOVE", 2)   # a small set stands in for a map with many clusters
    emb = _generated(1500, seed=1)
    done = precompute(tmp_path / "cache", methods=("pca",), sets=[emb])
    steps = [d["step"] for d in done]
    assert steps == ["projection/pca", "clusters", "neighbour_index/exact", "parents",
                     "mcs sweep"]
    assert done[1]["n_clusters"] > 2 and 2 <= done[3]["n_parents"] <= POLICY.max_parents
    assert len(list((tmp_path / "cache" / "parent_summaries").glob("*[0-9a-f].json"))) == 1
    assert len(list((tmp_path / "cache" / "mcs_sweep").glob("*.parquet"))) == 1
