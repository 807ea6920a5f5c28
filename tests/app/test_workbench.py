"""AppTest of the scholar's workbench on the Explore page: names, tags, notes, saved views, undo, carry-over."""

from __future__ import annotations

import pytest

from mmx_core.annotations.store import AnnotationStore
from mmx_core.trailers.published import load_published
from test_pages import assert_clean, figures_of, run_page, trace_names, two_small_sets  # noqa: F401 (a fixture)
from mmx_core import workspace

PUBLISHED = load_published()


def named_table(at):
    """The table of named sub-genres on the Explore page."""
    return next(d.value for d in at.dataframe if "lands on" in d.value.columns)


def submit(at, form_key: str, text: str):
    at.text_input(key=f"{form_key}_text").input(text)
    next(b for b in at.button if b.proto.form_id == form_key).click()
    return at.run()


def click(at, key: str = "map", rows=(10,)):
    at.session_state[key] = {"selection": {"points": [{"customdata": [r]} for r in rows], "point_indices": list(rows),
                                           "box": [], "lasso": [{"x": [0], "y": [0]}] if len(rows) > 1 else []}}
    return at.run()


def test_naming_a_cluster_labels_it_on_the_map_and_survives_a_reload(published_store):
    at = run_page()
    at.selectbox(key="w_cluster").select_index(1).run()
    cluster = at.selectbox(key="w_cluster").value
    submit(at, "name_cluster", "Giallo")
    assert_clean(at)
    named = published_store.subgenres()["Giallo"]
    assert named.author == "local" and len(named.members) > 0
    at = run_page(cluster=str(cluster))                                   # a new session: the name is kept
    fig = figures_of(at)[0]
    assert "★ Giallo" in trace_names(fig)
    assert any("★ Giallo" in a["text"] for a in fig["layout"]["annotations"])
    assert named_table(at).iloc[0]["name"] == "Giallo"
    assert at.text_input(key="rename_cluster_text")                       # the named cluster offers a rename
    submit(at, "rename_cluster", "Gialli")
    assert set(published_store.subgenres()) == {"Gialli"}


def test_tagging_a_trailer_colours_filters_and_exports(published_store):
    at = click(run_page())
    trailer = PUBLISHED.ids[10]
    submit(at, "tag_trailer", "slow burn")
    assert_clean(at)
    assert list(published_store.tags()["id"]) == [trailer]
    assert any(b.label == "#slow burn ✕" for b in at.button)
    at.sidebar.selectbox(key="w_colour").set_value("tag").run()
    assert trace_names(figures_of(at)[0])[:2] == ["no tag", "#slow burn"]   # the grey layer says what it lacks
    at.sidebar.multiselect(key="w_tags").set_value(["slow burn"]).run()
    assert at.query_params["tags"] == "slow burn"
    table = at.dataframe[-1].value
    assert list(table["id"]) == [trailer] and list(table["tags"]) == ["slow burn"]
    downloads = at.get("download_button")             # the selection's CSV and the annotations file
    assert len(downloads) == 2 and all(d.proto.ignore_rerun for d in downloads), \
        "a download must not rerun the app: the rerun revokes the file the click is fetching"
    next(b for b in at.button if b.label == "#slow burn ✕").click().run()
    assert published_store.tags().empty
    published_store.name_subgenre("Picked", PUBLISHED.ids[:2])               # hand-picked, one click at a time
    at.run()
    at.selectbox(key="trailer_target").set_value("Picked")
    at.button(key="trailer_add").click().run()
    assert published_store.subgenres()["Picked"].members == {*PUBLISHED.ids[:2], trailer}


def test_a_lasso_becomes_a_named_sub_genre_then_split_merged_and_undone(published_store):
    rows = [3, 50, 400, 1000]
    at = click(run_page(), rows=rows)
    at.expander  # the selection's actions
    submit(at, "name_selection", "Mixed bag")
    assert published_store.subgenres()["Mixed bag"].members == set(PUBLISHED.ids[rows])
    at = click(at, rows=rows[:2])
    at.selectbox(key="selection_target").set_value("Mixed bag")
    submit(at, "split_selection", "Pair")
    assert published_store.subgenres()["Pair"].members == set(PUBLISHED.ids[rows[:2]])
    assert published_store.subgenres()["Mixed bag"].members == set(PUBLISHED.ids[rows[2:]])
    at.sidebar.button(key="undo").click().run()
    assert set(published_store.subgenres()) == {"Mixed bag"}
    at = run_page(named="Mixed bag")
    assert [s.value for s in at.subheader if s.value.startswith("Members of ★ Mixed bag")]
    assert sorted(at.dataframe[-1].value["id"]) == sorted(PUBLISHED.ids[rows])
    at.text_area(key="named_note").input("four trailers from all over the map")
    next(b for b in at.button if b.proto.form_id == "describe_named").click().run()
    assert published_store.subgenres()["Mixed bag"].note == "four trailers from all over the map"


def test_a_saved_view_keeps_projection_parameters_and_opens(published_store):
    at = run_page(projection="umap", pp="n_neighbors:30", colour="year", mcs="60")
    assert at.sidebar.slider(key="w_umap_n_neighbors").value == 30
    submit(at, "save_view", "years at 60")
    saved = published_store.views()["years at 60"]
    assert saved == {"pp": "n_neighbors:30", "colour": "year", "mcs": "60"}
    at = run_page()
    at.sidebar.button(key="view_years at 60").click().run()
    assert_clean(at)
    assert at.query_params["mcs"] == "60" and at.query_params["pp"] == "n_neighbors:30"
    assert at.sidebar.slider(key="w_mcs").value == 60


def test_a_name_follows_its_members_to_another_minimum_cluster_size(published_store):
    at = run_page()
    at.selectbox(key="w_cluster").select_index(1).run()
    submit(at, "name_cluster", "Followed")
    at.selectbox(key="w_cluster").set_value(None).run()
    at.sidebar.slider(key="w_mcs").set_value(35).run()
    assert_clean(at)
    table = named_table(at).set_index("name")
    assert table.at["Followed", "jaccard"] >= 0.5 and "★ Followed" in trace_names(figures_of(at)[0])


def test_compare_shows_how_a_named_sub_genre_sits_in_both_spaces(two_small_sets):
    first, second = two_small_sets
    ids = list(workspace.load_set(first).ids[:40])
    AnnotationStore.for_set(first).name_subgenre("Forty", ids)
    at = run_page("pages/2_Compare.py", set=first, compare=second, mcs="10")
    assert_clean(at)
    row = at.dataframe[-1].value.iloc[0]
    assert row["name"] == "Forty" and row["members"] == 40 and 0 <= row["neighbour_overlap"] <= 1
    assert row[f"clusters in {first}"] >= 1 and row[f"clusters in {second}"] >= 1


def test_the_train_page_starts_a_fine_run_on_its_recipe_taught_by_a_sets_names(published_store, tiny_data,
                                                                                monkeypatch):
    from pathlib import Path
    import sys

    from mmx_core import jobs
    from mmx_core.annotations.table import read_tags
    from mmx_core.jobs import queue

    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, str(Path(__file__).with_name("fake_trainer.py"))])
    published_store.name_subgenre("Giallo", PUBLISHED.ids[:3])
    at = run_page("pages/3_Train.py")
    at.radio(key="f_stage").set_value("fine").run()
    assert at.number_input(key="f_epochs_fine").value == 20          # the fine recipe, not the coarse one
    at.selectbox(key="f_data").set_value(tiny_data)
    at.selectbox(key="f_tags").set_value("published")
    at.text_input(key="f_name").input("fine-taught")
    next(b for b in at.button if b.proto.form_id == "train_form_fine").click().run()
    assert_clean(at)
    record = next(r for r in jobs.list_jobs("train") if r.name == "fine-taught")
    request = jobs.TrainRequest(**{k: v for k, v in record.job["request"].items()})
    argv = request.command(record.path)
    assert "--epochs" not in argv and "--batch-size" not in argv              # the command's recipe decides
    tags = Path(argv[argv.index("--tags") + 1])
    assert read_tags(tags) == {i: frozenset({"Giallo"}) for i in PUBLISHED.ids[:3]}


def test_merging_two_named_sub_genres_and_deleting_one(published_store):
    published_store.name_subgenre("First", PUBLISHED.ids[:3])
    published_store.name_subgenre("Second", PUBLISHED.ids[3:5])
    at = run_page(named="First")
    at.multiselect(key="merge_with").set_value(["Second"])
    next(b for b in at.button if b.proto.form_id == "merge_named").click().run()
    assert_clean(at)
    assert set(published_store.subgenres()) == {"First"} and len(published_store.subgenres()["First"].members) == 5
    at.button(key="delete_named").click().run()
    assert published_store.subgenres() == {} and at.query_params.get("named") is None
