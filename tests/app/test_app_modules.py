"""Unit tests of the app's library modules and the workspace catalogue: search, view state, embedding sets,
figures, map selection, the comparison table, probe."""

from __future__ import annotations


import base64
import io
import time

import numpy as np
import pandas as pd
import pytest

from mmx_core import workspace
from mmx_core.appkit import dataset_folders, evalview, hovercard, map_tables, search, trailer_media, uploads
from mmx_core.appkit.map_figure import map_figure
from mmx_core.appkit.map_traces import NOISE_COLOUR
from mmx_core.trailers.published import load_published
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.base.artefacts import read_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir
from mmx_core.evaluate.probe import probe_predictions
from mmx_core.appkit.url_state import ViewState


@pytest.fixture(scope="module")
def published():
    return load_published()


@pytest.mark.parametrize("query, title", [
    ("blade runner", "Blade Runner"), ("BLADERUNNER", "Blade Runner"), ("  blade   RUN ", "Blade Runner"),
    ("runner blade", "Blade Runner"), ("endoftheworld", "End of the World"),
])
def test_search_is_forgiving(published, query, title):
    rows = search.search_titles(published.metadata, query)
    titles = [search.normalise(t) for t in published.metadata["display_title"].iloc[rows]]
    assert any(search.normalise(title) in t for t in titles)


def test_search_ranks_exact_then_prefix_and_ignores_empty():
    table = pd.DataFrame({"id": ["a", "b", "c"], "display_title": ["The Alien Hunter", "Alien", "Aliens"]})
    assert list(search.search_titles(table, "alien")) == [1, 2, 0]
    assert len(search.search_titles(table, "  !! ")) == 0


def _ranked_by_the_rule(titles: list[str], query: str) -> list[int]:
    """The search rule written out plainly, title by title (what search_titles computes column-wise)."""
    whole = search.normalise(query)
    words = [w for w in (search.normalise(p) for p in query.split()) if w]
    scores = {}
    for row, title in enumerate(search.normalise(t) for t in titles):
        if title == whole:
            scores[row] = 0.0
        elif title.startswith(whole):
            scores[row] = 1.0 + len(title) / 1000
        elif whole in title:
            scores[row] = 2.0 + len(title) / 1000
        elif len(words) > 1 and all(w in title for w in words):
            scores[row] = 3.0 + len(title) / 1000
    return sorted(scores, key=lambda r: (scores[r], r))


@pytest.mark.parametrize("query", ["the", "night the", "alien", "of the world", "zzz", "a b c", "2"])
def test_search_ranks_as_the_rule_says_on_the_published_titles(published, query):
    titles = published.metadata["display_title"].astype(str).tolist()
    table = pd.DataFrame({"display_title": titles})
    assert search.search_titles(table, query, limit=None).tolist() == _ranked_by_the_rule(titles, query)


def test_search_reads_the_frame_it_is_given_not_a_remembered_one():
    for title in ("Alien", "Predator", "Alien"):   # new frames, maybe at a freed frame's address
        table = pd.DataFrame({"id": ["a"], "display_title": [title]})
        assert len(search.search_titles(table, "alien")) == (title == "Alien")


def test_filter_mask_genres_and_years():
    table = pd.DataFrame({"genres": [["Drama"], ["Horror", "Drama"], ["Comedy"]],
                          "year": pd.array([1990, 2005, None], dtype="Int64")})
    assert list(search.filter_mask(table, ["Horror", "Comedy"])) == [False, True, True]
    assert list(search.filter_mask(table, (), (1980, 2000))) == [True, False, False]


def test_view_state_round_trip_and_bad_values():
    view = ViewState(set="fine", projection="pca", colour="year", trailer="Alien", genres=("Horror", "War"),
                     years=(1980, 1999), mcs=25, cluster=3, q="alien")
    assert ViewState.from_params(view.to_params()) == view
    assert ViewState().to_params() == {}
    bad = ViewState.from_params({"projection": "mds", "mcs": "x", "years": "1990", "colour": "red"})
    assert bad == ViewState() and len(bad.warnings) == 4


def test_workspace_lists_published_and_uploads(published):
    names = [c.name for c in workspace.list_sets()]
    assert names[0] == "published"
    buffer = io.BytesIO()
    np.savez(buffer, embeddings=published.vectors[:30], ids=published.ids[:30], generated=np.bool_(True))
    info = uploads.save_upload("unit-upload", buffer.getvalue())
    assert info.generated and "generated" in info.label
    assert "upload:unit-upload" in [c.name for c in workspace.list_sets()]
    emb = workspace.load_set("upload:unit-upload")
    assert emb.name == "upload:unit-upload" and emb.generated
    assert list(emb.metadata["display_title"][:3]) == list(published.metadata["display_title"][:3])
    assert read_json(workspace.uploads_dir() / "unit-upload" / "upload.json") == {
        "name": "unit-upload", "trailers": 30, "dim": published.dim, "metadata": False}
    with pytest.raises(MMXError, match="unknown embedding set 'upload:nope'"):
        workspace.load_set("upload:nope")


@pytest.mark.parametrize("name, payload, message", [
    ("bad name!", b"x", "upload name"),
    ("ok", b"not a zip", "not an .npz archive"),
    ("big", b"x" * 101, "the limit is"),
])
def test_bad_uploads_are_refused_with_a_message(name, payload, message):
    with pytest.raises(MMXError, match=message):
        uploads.save_upload(name, payload, max_bytes=100)
    assert not (workspace.uploads_dir() / name / "embeddings.npz").exists()


def test_upload_with_nan_rows_is_refused(published):
    vectors = published.vectors[:10].copy()
    vectors[3] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, embeddings=vectors, ids=published.ids[:10])
    with pytest.raises(MMXError, match="NaN"):
        uploads.save_upload("nan-upload", buffer.getvalue())


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"id": [f"t{i}" for i in range(n)], "x": rng.normal(size=n), "y": rng.normal(size=n),
                          "cluster": rng.integers(-1, 4, n), "display_title": [f"T {i}" for i in range(n)],
                          "year": pd.array(rng.integers(1950, 2020, n), dtype="Int64"),
                          "genre_list": [["Drama"] if i % 2 else ["Horror"] for i in range(n)]})
    frame["genres"] = frame["genre_list"].map(", ".join)
    frame["cluster_label"] = [f"c{c}" if c >= 0 else "noise" for c in frame["cluster"]]
    return frame


def test_map_figure_rows_round_trip_through_a_selection_event():
    frame = _frame(200)
    fig = map_figure(frame, "cluster")
    noise = fig.data[0]
    assert noise.name == "noise" and noise.marker.color == NOISE_COLOUR
    rows = np.concatenate([np.atleast_1d(t.customdata) for t in fig.data])
    assert sorted(rows) == list(range(200))
    trace = fig.data[2]
    event = {"selection": {"points": [{"customdata": int(r)} for r in trace.customdata[:3]] + [{"x": 1}]}}
    picked = map_tables.selected_rows(event, len(frame))
    assert list(picked) == sorted(int(r) for r in trace.customdata[:3])
    assert (frame["cluster"].iloc[picked] == frame["cluster"].iloc[picked[0]]).all()


def test_hover_card_reply_sends_one_thumbnail_for_a_valid_request(published):
    ids = published.ids.tolist()
    reply = hovercard.hover_reply(ids, {"row": 10, "scope": "published"}, "published")
    assert reply["row"] == 10
    assert reply["src"] == "data:image/jpeg;base64," + base64.b64encode(trailer_media.thumbnail_bytes(ids[10])).decode()
    empty = {"scope": "published", "row": None, "src": None}
    for request in (None, {"row": 10, "scope": "other set"}, {"row": "x", "scope": "published"},
                    {"row": len(ids), "scope": "published"}, {"row": -1, "scope": "published"}, ["row", 1]):
        assert hovercard.hover_reply(ids, request, "published") == empty, request
    assert hovercard.hover_reply(["no-such-trailer"], {"row": 0, "scope": "s"}, "s")["src"] is None
    assert "plotly_hover" in hovercard.static_text("hovercard.js")


def test_large_maps_send_a_sample_plus_density():
    frame = _frame(5000)
    highlight = np.zeros(5000, dtype=bool)
    highlight[[7, 4999]] = True
    fig = map_figure(frame, "genre", genre="Horror", highlight=highlight, limit=1000)
    assert fig.data[0].type == "heatmap"
    shown = sum(len(t.customdata) for t in fig.data[1:3])
    assert 1000 <= shown <= 1002
    assert sorted(fig.data[3].customdata) == [7, 4999]


def test_probe_on_a_small_labelled_set(published):
    small = published.subset(np.arange(400))
    pred = probe_predictions(small, components=16)
    assert 60 <= pred.scores.shape[0] <= 80 and pred.scores.shape[1] == len(pred.genres)
    assert set(np.unique(pred.labels)) <= {0, 1}
    _, summary, per_genre = evalview.report_tables(pred)
    assert 0 < summary["this model"].iloc[1] <= 1 and "paper F1" in per_genre


def test_an_authors_layout_folder_is_imported_by_a_background_job(tmp_path):
    from mmx_core import jobs

    (tmp_path / "Horror").mkdir()
    with pytest.raises(MMXError, match="give a name"):
        dataset_folders.check_folder(tmp_path, "")
    result = dataset_folders.check_folder(tmp_path, "imported-here")
    assert result["ok"] is None and "background" in result["report"]
    job = jobs.find_job("import-imported-here")
    assert job.kind == "import" and job.request.folder == str(tmp_path.resolve())
    assert job.job["argv"][-5:] == ["import-mmx", str(tmp_path.resolve()), "--out", str(data_dir() / "imported-here"),
                                    "--allow-skips"]
    deadline = time.time() + 60
    while jobs.find_job(job.name).state in jobs.ACTIVE and time.time() < deadline:
        time.sleep(0.2)
    assert jobs.find_job(job.name).state in ("finished", "failed")  # the importer ran and the supervisor recorded it


def _write_set(folder, published, rows, extra_id: str | None = None):
    ids, vectors = list(published.ids[rows]), published.vectors[rows]
    if extra_id:
        ids.append(extra_id)
        vectors = np.vstack([vectors, published.vectors[-1:]])
    return save_embeddings(folder / "e.npz", np.array(ids), vectors)


def test_load_set_metadata_rule(tmp_path, published):
    path = _write_set(tmp_path, published, np.arange(20), extra_id="zz-new")
    emb = workspace.load_set(path)                            # 4. nothing beside it: the published table
    assert emb.name == "e" and len(emb) == 21
    assert list(emb.metadata["display_title"][:20]) == list(published.metadata["display_title"][:20])
    new = emb.metadata.iloc[20]
    assert new["display_title"] == "zz-new" and new["genres"] == [] and pd.isna(new["year"])
    pd.DataFrame({"id": emb.ids, "title": "Folder Table"}).to_csv(tmp_path / "trailers.csv", index=False)
    emb = workspace.load_set(path)                            # 3. trailers.csv in the folder
    assert set(emb.metadata["title"]) == {"Folder Table"}
    assert "year" in emb.metadata and "genres" in emb.metadata   # always present, empty here
    assert emb.metadata["genres"].map(len).sum() == 0 and emb.metadata["year"].isna().all()
    pd.DataFrame({"id": emb.ids, "title": "Stem Table", "genres": "Horror|War"}).to_csv(tmp_path / "e.csv", index=False)
    emb = workspace.load_set(path)                            # 2. <stem>.csv wins over trailers.csv
    assert set(emb.metadata["title"]) == {"Stem Table"} and emb.metadata["genres"].iloc[0] == ["Horror", "War"]
    given = tmp_path / "given.csv"
    pd.DataFrame({"id": emb.ids[:5], "title": "Given"}).to_csv(given, index=False)
    emb = workspace.load_set(str(path), metadata=str(given))  # 1. --metadata wins; ids it lacks: the id
    assert list(emb.metadata["title"][:6]) == ["Given"] * 5 + [emb.ids[5]]


def test_load_set_is_read_once_until_its_file_changes(tmp_path, published):
    path = _write_set(tmp_path, published, np.arange(12))
    first = workspace.load_set(path)
    assert workspace.load_set(str(path)) is first
    _write_set(tmp_path, published, np.arange(15))
    again = workspace.load_set(path)
    assert again is not first and len(again) == 15


def test_catalogue_lists_data_sets_checkpoints_and_prediction_files():
    from mmx_core.base.paths import data_dir, runs_dir
    from mmx_core.evaluate.predictions import save_predictions

    (data_dir() / "cat-data").mkdir(parents=True, exist_ok=True)
    (data_dir() / "cat-data" / "manifest.json").write_text("{}")
    (data_dir() / "not-a-data-set").mkdir(exist_ok=True)
    checkpoints = runs_dir() / "cat-run" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / "last.pt").write_bytes(b"")
    (checkpoints / "best.pt").write_bytes(b"")
    labels = np.eye(4, dtype=int)[np.arange(40) % 4]
    save_predictions(runs_dir() / "cat-run" / "eval" / "predictions_test.npz", labels * 0.9, labels,
                     ["Action", "Comedy", "Drama", "Horror"])
    assert "cat-data" in workspace.data_sets() and "not-a-data-set" not in workspace.data_sets()
    only_last = runs_dir() / "cat-run-last" / "checkpoints"
    only_last.mkdir(parents=True, exist_ok=True)
    (only_last / "last.pt").write_bytes(b"")
    (runs_dir() / "cat-run-empty" / "checkpoints").mkdir(parents=True, exist_ok=True)
    found = workspace.checkpoints()
    assert found["run:cat-run"] == checkpoints / "best.pt"
    assert found["run:cat-run-last"] == only_last / "last.pt" and "run:cat-run-empty" not in found
    assert {"models:coarse.pt", "models:fine.pt"} <= set(found)
    assert workspace.prediction_files()["cat-run/eval/predictions_test.npz"].exists()
    pred = workspace.load_prediction_file("cat-run/eval/predictions_test.npz")
    np.testing.assert_array_equal(pred.labels, labels)
    with pytest.raises(MMXError, match="no predictions file 'cat-run/nope.npz'"):
        workspace.load_prediction_file("cat-run/nope.npz")


def test_comparison_table_is_the_comparison_with_metadata(published):
    from mmx_core.explore import cached_comparison

    rows = np.arange(300)
    a = published.subset(rows)
    a.name = "a"
    noisy = published.vectors[rows] + np.random.default_rng(0).normal(0, 0.3 * a.vectors.std(), a.vectors.shape)
    order = np.r_[np.arange(299, -1, -1)]                    # b lists the trailers in another order
    b = type(a)(a.ids[order], noisy[order].astype(np.float32), None, "b")
    result = cached_comparison.comparison(a, b, k=5, cluster_params={"min_cluster_size": 10, "space": "raw"},
                                          projection_params={"method": "pca"})
    table = map_tables.comparison_table(result, a)
    assert table["id"].tolist() == a.ids.tolist() == result.table["id"].tolist()
    assert table["jaccard"].mean() == pytest.approx(result.summary["jaccard_mean"])
    assert table["display_title"].tolist() == a.metadata["display_title"].tolist()
    labels_b = result.labels("b")
    assert labels_b and all(table["label_b"][table["cluster_b"] == c].eq(name).all() for c, name in labels_b.items())
    assert (table.loc[table["cluster_a"] < 0, "label_a"] == "noise").all()
    np.testing.assert_allclose(table["x_b"], result.aligned["x_b"])
    side_b = map_tables.comparison_map(table, result, "b")
    np.testing.assert_allclose(side_b["x"], table["x_b"])
    assert side_b["cluster"].tolist() == table["cluster_b"].tolist()
    legends = result.labels("b", "legend_label")
    assert side_b.loc[side_b["cluster"] >= 0, "cluster_legend"].tolist() == [
        legends[c] for c in side_b.loc[side_b["cluster"] >= 0, "cluster"]]
