"""AppTest of every page: renders on the default data, each control does what it should."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mmx_core import workspace
from mmx_core.cli import main
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.trailers.published import load_published

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["app.py", "pages/1_Trailer.py", "pages/2_Compare.py", "pages/3_Train.py", "pages/4_Evaluate.py",
         "pages/5_Data.py"]
TIMEOUT = 180


def run_page(page: str = "app.py", **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def figures_of(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def trace_names(fig: dict) -> list[str]:
    return [t.get("name") for t in fig["data"]]


def points_in(fig: dict, name: str) -> int:
    trace = next(t for t in fig["data"] if t.get("name") == name)
    return len(trace["hovertext"])


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_default_data(page):
    at = run_page(page)
    assert_clean(at)


def test_explore_map_shows_clusters_noise_and_labels():
    at = run_page()
    fig = figures_of(at)[0]
    names = trace_names(fig)
    assert names[0] == "noise" and len(names) > 3
    assert sum(points_in(fig, n) for n in names) == 7594
    assert len(fig["layout"]["annotations"]) >= 3          # cluster labels at centres
    assert "7,594 trailers" in at.markdown[0].value


def test_projection_colour_and_cluster_size_controls():
    at = run_page()
    umap_xy = figures_of(at)[0]["data"][1]["x"]
    at.sidebar.radio(key="w_projection").set_value("pca").run()
    assert_clean(at)
    assert at.query_params["projection"] == "pca"
    assert figures_of(at)[0]["data"][1]["x"] != umap_xy

    at.sidebar.selectbox(key="w_colour").set_value("genre").run()
    at.sidebar.selectbox(key="w_genre").set_value("Western").run()
    names = trace_names(figures_of(at)[0])
    assert names[:2] == ["other genres", "Western"]
    assert points_in(figures_of(at)[0], "Western") == sum("Western" in g for g in load_published().metadata["genres"])

    at.sidebar.selectbox(key="w_colour").set_value("year").run()
    assert "colorbar" in figures_of(at)[0]["data"][1]["marker"]

    at.sidebar.selectbox(key="w_colour").set_value("cluster").run()
    before = at.markdown[0].value
    at.sidebar.slider(key="w_mcs").set_value(150).run()
    assert_clean(at)
    assert at.markdown[0].value != before and at.query_params["mcs"] == "150"


def test_search_and_filters_highlight_matches():
    at = run_page()
    at.sidebar.text_input(key="w_q").input("BLADE runner").run()
    fig = figures_of(at)[0]
    assert "matches" in trace_names(fig)
    table = at.dataframe[-1].value
    assert any("Blade Runner" in t for t in table["display_title"])
    at.sidebar.text_input(key="w_q").input("").run()
    at.sidebar.multiselect(key="w_genres").select("Western").run()
    at.sidebar.slider(key="w_years").set_value((1990, 2000)).run()
    table = at.dataframe[-1].value
    assert len(table) > 0
    assert all(1990 <= y <= 2000 for y in table["year"])
    assert all("Western" in g for g in table["genres"])
    assert at.query_params["years"] == "1990-2000"


def test_clicking_a_point_shows_the_card_and_a_lasso_fills_the_table():
    at = run_page()
    at.session_state["map"] = {"selection": {"points": [{"customdata": [10]}], "point_indices": [10],
                                             "box": [], "lasso": []}}
    at.run()
    published = load_published()
    assert at.query_params["trailer"] == published.ids[10]
    assert "**Nearest neighbours**" in [m.value for m in at.markdown]
    assert len([b for b in at.button if b.key.startswith("side_nb_")]) == 5

    rows = [3, 50, 400, 1000]
    at.session_state["map"] = {"selection": {"points": [{"customdata": [r]} for r in rows], "point_indices": rows,
                                             "box": [], "lasso": [{"x": [0], "y": [0]}]}}
    at.run()
    assert at.subheader[-1].value == "Selection: 4 trailers"
    assert sorted(at.dataframe[-1].value["id"]) == sorted(published.ids[rows])


def hover_card_data(at: AppTest, key: str = "map_hover") -> dict:
    element = next(e for e in at.get("bidi_component") if e.proto.id.endswith(key))
    return json.loads(element.proto.json)


def test_hovering_a_point_sends_its_thumbnail_to_the_hover_card():
    at = run_page()
    assert hover_card_data(at)["reply"]["src"] is None and hover_card_data(at)["target"] == "map"
    at.session_state["map_hover"] = {"want": {"row": 10, "scope": "published"}}   # what the script asks for
    at.run()
    reply = hover_card_data(at)["reply"]
    assert reply["row"] == 10 and reply["src"].startswith("data:image/jpeg;base64,")
    assert "trailer" not in at.query_params                                     # a hover is not a click


def test_choosing_a_cluster_zooms_and_lists_its_members():
    at = run_page()
    options = at.selectbox(key="w_cluster").options
    at.selectbox(key="w_cluster").select_index(1).run()
    assert_clean(at)
    fig = figures_of(at)[0]
    assert "range" in fig["layout"]["xaxis"]
    heading = [s.value for s in at.subheader if s.value.startswith("Members of")]
    size = int(options[1].rsplit("(", 1)[1].rstrip(")"))
    assert heading and len(at.dataframe[-1].value) == size


def test_view_state_comes_from_the_url():
    trailer = load_published().ids[123]
    at = run_page(projection="pca", colour="year", trailer=trailer)
    assert at.sidebar.radio(key="w_projection").value == "pca"
    assert at.sidebar.selectbox(key="w_colour").value == "year"
    assert "**Nearest neighbours**" in [m.value for m in at.markdown]


def test_trailer_page_neighbours_and_moving_to_one():
    published = load_published()
    at = run_page("pages/1_Trailer.py", trailer=published.ids[42])
    assert_clean(at)
    buttons = [b for b in at.button if b.key.startswith("nb_a_")]
    assert len(buttons) == 10
    target_title = buttons[0].label
    buttons[0].click().run()
    row = published.index_of(at.query_params["trailer"])
    assert published.metadata["display_title"].iloc[row] == target_title


def test_trailer_page_search():
    at = run_page("pages/1_Trailer.py")
    at.text_input(key="w_trailer_q").input("endoftheworld").run()
    assert any("End of the World" in o or "Endof the World" in o for o in at.selectbox(key="w_trailer_pick").options)
    at.button(key="show_pick").click().run()
    assert at.query_params["trailer"]


@pytest.fixture
def two_small_sets():
    """Two uploads of the same 600 published trailers: the real vectors and a perturbed copy."""
    published = load_published()
    rows = np.random.default_rng(0).choice(len(published), 600, replace=False)
    ids, vectors = published.ids[rows], published.vectors[rows]
    noisy = vectors + np.random.default_rng(1).normal(0, 0.6 * vectors.std(), vectors.shape).astype(np.float32)
    for name, vec in (("small-a", vectors), ("small-b", noisy)):
        folder = workspace.uploads_dir() / name
        save_embeddings(folder / "embeddings.npz", ids, vec)
    yield "upload:small-a", "upload:small-b"


def test_trailer_page_two_spaces_side_by_side(two_small_sets):
    first, second = two_small_sets
    trailer = workspace.load_set(first).ids[0]
    at = run_page("pages/1_Trailer.py", set=first, compare=second, trailer=trailer)
    assert_clean(at)
    assert len([b for b in at.button if b.key.startswith("nb_b_")]) == 10
    assert any("found in both spaces" in c.value for c in at.caption)


def test_compare_page(two_small_sets, tmp_path, capsys):
    first, second = two_small_sets
    at = run_page("pages/2_Compare.py", set=first, compare=second, mcs="10")
    assert_clean(at)
    figs = figures_of(at)
    assert len(figs) == 4                                  # two maps, Jaccard histogram, Sankey
    assert figs[0]["data"][-1]["name"] == "neighbour overlap"
    assert any(t["type"] == "sankey" for t in figs[3]["data"])
    out = tmp_path / "cmp.parquet"                         # the CLI on the same sets shows the same figures
    assert main(["compare", "--a", first, "--b", second, "--min-cluster-size", "10", "--json", "--out", str(out)]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["n"] == 600 and f"{cli['n']:,} common trailers" in at.markdown[0].value
    assert f"mean Jaccard@10 of neighbour lists {cli['jaccard_mean']:.3f}" in at.markdown[0].value
    movers = at.dataframe[0].value                         # the page's movers: the CLI table's lowest Jaccard
    assert np.allclose(sorted(movers["jaccard"]), sorted(pd.read_parquet(out)["jaccard"])[:len(movers)])
    rows = [1, 2, 3, 40]                                   # a lasso in map A outlines the same trailers in B
    at.session_state[f"cmp_{first}"] = {"selection": {"points": [{"customdata": r} for r in rows],
                                                      "point_indices": rows, "box": [], "lasso": [{"x": [0]}]}}
    at.run()
    assert_clean(at)
    for fig in figures_of(at)[:2]:
        matches = next(t for t in fig["data"] if t["name"] == "matches")
        assert len(matches["hovertext"]) == 4
    assert any("4 trailers selected" in c.value for c in at.caption)
    if at.toggle:
        at.toggle(key="w_example").set_value(True).run()
        assert "matches" in trace_names(figures_of(at)[0]) and "matches" in trace_names(figures_of(at)[1])


def test_projection_parameters_recompute_the_map(two_small_sets):
    first, _ = two_small_sets
    at = run_page(set=first, mcs="10")
    before = figures_of(at)[0]["data"][1]["x"]
    at.sidebar.slider(key="w_umap_n_neighbors").set_value(30).run()
    assert_clean(at)
    assert figures_of(at)[0]["data"][1]["x"] != before
    assert sum(points_in(figures_of(at)[0], n) for n in trace_names(figures_of(at)[0])) == 600
