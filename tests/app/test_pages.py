"""AppTest of every page: renders on the default data, each control does what it should."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mmx_core import workspace
from mmx_core.cli import main

from mmx_core import jobs
from mmx_core.jobs import queue
from mmx_core.base.assets import load_published
from mmx_core.base.embeddings import save_embeddings
from mmx_core.evaluate.predictions import save_predictions
from mmx_core.base.paths import data_dir, runs_dir

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


@pytest.fixture
def tiny_data_and_fake_trainer(monkeypatch, tiny_data):
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, str(Path(__file__).with_name("fake_trainer.py"))])
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.4")
    yield "tiny"


def test_train_page_launch_progress_cancel(tiny_data_and_fake_trainer):
    at = run_page("pages/3_Train.py")
    at.selectbox(key="f_data").set_value("tiny")
    at.number_input(key="f_epochs_coarse").set_value(50)
    at.text_input(key="f_name").input("app-test-run")
    at.button[0].click().run()   # the form's submit button
    assert_clean(at)
    assert any("queued" in s.value for s in at.success)
    deadline = time.time() + 30
    while time.time() < deadline:
        run = next(r for r in jobs.list_jobs("train") if r.name == "app-test-run")
        if run.state == "running" and run.progress > 0:
            break
        time.sleep(0.3)
    at.run()
    assert any("app-test-run · train · running" in e.label for e in at.expander), [e.label for e in at.expander]
    assert at.get("progress") and any(c.value for c in at.code if "epoch" in c.value)
    at.button(key="cancel_app-test-run").click().run()
    run = next(r for r in jobs.list_jobs("train") if r.name == "app-test-run")
    assert run.state == "cancelled" and not run.alive
    assert any("app-test-run · train · cancelled" in e.label for e in at.expander)


def test_evaluate_page_with_a_predictions_file():
    rng = np.random.default_rng(0)
    labels = (rng.random((200, 4)) < 0.3).astype(int)
    scores = np.clip(labels * 0.6 + rng.random((200, 4)) * 0.5, 0, 1)
    save_predictions(runs_dir() / "eval-run" / "predictions.npz", scores, labels, ["Action", "Comedy", "Drama", "Horror"])
    at = run_page("pages/4_Evaluate.py")
    at.selectbox(key="w_eval_source").set_value("file:eval-run/predictions.npz").run()
    at.button(key="evaluate").click().run()
    assert_clean(at)
    summary = at.dataframe[0].value
    assert list(summary["metric"])[:2] == ["F1w", "AU(PRC)w"] and summary["this model"].iloc[1] > 0.5
    assert len(figures_of(at)) == 2                         # F1 bars, PR curves
    at.multiselect(key="w_pr").select("Horror").run()
    assert "Horror" in trace_names(figures_of(at)[1])


def test_data_page_lists_uploads_and_validates_a_folder(tiny_data_and_fake_trainer):
    published = load_published()
    save_embeddings(workspace.uploads_dir() / "listed" / "embeddings.npz", published.ids[:20], published.vectors[:20])
    at = run_page("pages/5_Data.py")
    names = list(at.dataframe[0].value["name"])
    assert names[0] == "published" and "upload:listed" in names
    at.text_input(key="w_folder").input(str(data_dir() / "tiny"))
    at.button(key="validate_folder").click().run()
    assert any("valid" in s.value for s in at.success)
    at.text_input(key="w_folder").input(str(data_dir() / "nonexistent"))
    at.button(key="validate_folder").click().run()
    assert at.error and "not a folder" in at.error[0].value
    at.text_input(key="w_folder").input("/etc")                     # outside the allowed roots: not even looked at
    at.button(key="validate_folder").click().run()
    assert at.error and "outside the folders the app may read" in at.error[0].value


def test_projection_parameters_recompute_the_map(two_small_sets):
    first, _ = two_small_sets
    at = run_page(set=first, mcs="10")
    before = figures_of(at)[0]["data"][1]["x"]
    at.sidebar.slider(key="w_umap_n_neighbors").set_value(30).run()
    assert_clean(at)
    assert figures_of(at)[0]["data"][1]["x"] != before
    assert sum(points_in(figures_of(at)[0], n) for n in trace_names(figures_of(at)[0])) == 600
