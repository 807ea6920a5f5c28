"""Unit tests of the app's library modules: search, view state, collections, figures, map selection, probe."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest

from mmx_core.appkit import evalview, figures, hovercard, mapview, search, sets
from mmx_core.base.assets import load_published
from mmx_core.base.errors import MMXError
from mmx_core.appkit.viewstate import ViewState


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


def test_collections_list_published_and_uploads(published):
    names = [c.name for c in sets.list_collections()]
    assert names[0] == "published"
    buffer = io.BytesIO()
    np.savez(buffer, embeddings=published.vectors[:30], ids=published.ids[:30], generated=np.bool_(True))
    info = sets.save_upload("unit-upload", buffer.getvalue())
    assert info.generated and "generated" in info.label
    emb = sets.load_collection("upload:unit-upload")
    assert list(emb.metadata["display_title"][:3]) == list(published.metadata["display_title"][:3])


@pytest.mark.parametrize("name, payload, message", [
    ("bad name!", b"x", "upload name"),
    ("ok", b"not a zip", "not an .npz archive"),
    ("big", b"x" * 101, "the limit is"),
])
def test_bad_uploads_are_refused_with_a_message(name, payload, message):
    with pytest.raises(MMXError, match=message):
        sets.save_upload(name, payload, max_bytes=100)
    assert not (sets.uploads_dir() / name / "embeddings.npz").exists()


def test_upload_with_nan_rows_is_refused(published):
    vectors = published.vectors[:10].copy()
    vectors[3] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, embeddings=vectors, ids=published.ids[:10])
    with pytest.raises(MMXError, match="NaN"):
        sets.save_upload("nan-upload", buffer.getvalue())


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
    fig = figures.map_figure(frame, "cluster")
    noise = fig.data[0]
    assert noise.name == "noise" and noise.marker.color == figures.NOISE_COLOUR
    rows = np.concatenate([np.atleast_1d(t.customdata) for t in fig.data])
    assert sorted(rows) == list(range(200))
    trace = fig.data[2]
    event = {"selection": {"points": [{"customdata": int(r)} for r in trace.customdata[:3]] + [{"x": 1}]}}
    picked = mapview.selected_rows(event, len(frame))
    assert list(picked) == sorted(int(r) for r in trace.customdata[:3])
    assert (frame["cluster"].iloc[picked] == frame["cluster"].iloc[picked[0]]).all()


def test_hover_card_reply_sends_one_thumbnail_for_a_valid_request(published):
    ids = published.ids.tolist()
    reply = hovercard.hover_reply(ids, {"row": 10, "scope": "published"}, "published")
    assert reply["row"] == 10
    assert reply["src"] == "data:image/jpeg;base64," + base64.b64encode(sets.thumbnail_bytes(ids[10])).decode()
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
    fig = figures.map_figure(frame, "genre", genre="Horror", highlight=highlight, limit=1000)
    assert fig.data[0].type == "histogram2dcontour"
    shown = sum(len(t.customdata) for t in fig.data[1:3])
    assert 1000 <= shown <= 1002
    assert sorted(fig.data[3].customdata) == [7, 4999]


def test_probe_on_a_small_labelled_set(published):
    small = published.subset(np.arange(400))
    pred = evalview.probe_predictions(small, components=16)
    assert 60 <= pred.scores.shape[0] <= 80 and pred.scores.shape[1] == len(pred.genres)
    assert set(np.unique(pred.labels)) <= {0, 1}
    _, summary, per_genre = evalview.report_tables(pred)
    assert 0 < summary["this model"].iloc[1] <= 1 and "paper F1" in per_genre


def test_an_authors_layout_folder_is_imported_in_the_background(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(sets, "start_import", lambda folder, name: started.append((folder, name)) or tmp_path)
    (tmp_path / "Horror").mkdir()
    with pytest.raises(MMXError, match="give a name"):
        sets.check_folder(tmp_path, "")
    result = sets.check_folder(tmp_path, "imported")
    assert started == [(tmp_path, "imported")] and "background" in result["report"]
