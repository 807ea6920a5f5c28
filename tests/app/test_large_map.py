"""The map of a large collection: the density of every point plus the points of the region shown
(mmx_core.appkit.large_map, map_figure above the point limit), and the Explore page drawing it (AppTest)."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pandas as pd
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

from mmx_core.appkit import map_traces as map_module
from mmx_core.appkit.large_map import (DENSITY_BINS, MATCH_CAP, capped_matches, density_grid, density_trace,
                                       draw_priority, in_view, parse_view, rows_in_view)
from mmx_core.appkit.map_figure import map_base, map_figure

from test_pages import ROOT, assert_clean


def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), rng.normal(size=n)


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    """A map frame of ``n`` random points (60 clusters, noise, years, two genres) built fast at 1,000,000 rows."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("t", np.arange(n).astype(str)).astype(object)
    frame = pd.DataFrame({"id": ids, "x": rng.normal(size=n), "y": rng.normal(size=n),
                          "cluster": rng.integers(-1, 60, n), "display_title": ids,
                          "year": pd.array(rng.integers(1950, 2020, n), dtype="Int64"), "genres": "Action, Drama"})
    frame["genre_list"] = pd.Series([["Action", "Drama"]] * n)
    frame["cluster_label"] = np.where(frame["cluster"] < 0, "noise", "cluster")
    return frame


def _summaries(frame: pd.DataFrame) -> pd.DataFrame:
    centres = frame[frame["cluster"] >= 0].groupby("cluster")[["x", "y"]].median().reset_index()
    centres["label"] = centres["short_label"] = centres["legend_label"] = "c" + centres["cluster"].astype(str)
    return centres


def _rows_of(trace: dict) -> np.ndarray:
    custom = trace["customdata"]
    if isinstance(custom, dict):
        return np.frombuffer(base64.b64decode(custom["bdata"]), np.int32)
    return np.asarray(custom)


def _marker_rows(fig: dict) -> np.ndarray:
    return np.concatenate([_rows_of(t) for t in fig["data"] if t["type"] == "scattergl"
                           and t["name"] not in ("matches", "selected")])


def sent(fig) -> dict:
    return json.loads(plotly.io.to_json(fig.to_dict(), validate=False))


# -- the region's points ----------------------------------------------------------------------------
def test_rows_in_view_are_inside_capped_by_priority_and_keep_is_always_drawn():
    x, y = _points(20_000)
    view = (-0.5, 1.0, -1.0, 0.2)
    rows = rows_in_view(x, y, view, limit=1000)
    assert len(rows) == 1000 and in_view(x[rows], y[rows], view).all() and (np.diff(rows) > 0).all()
    inside = np.flatnonzero(in_view(x, y, view))
    order = draw_priority(len(x))
    assert order[rows].max() < np.sort(order[inside])[1000]            # the 1,000 of smallest priority
    outside = int(np.flatnonzero(~in_view(x, y, view))[0])
    assert outside in rows_in_view(x, y, view, 1000, keep=np.array([outside]))
    assert np.array_equal(rows_in_view(x, y, (-0.1, 0.1, -0.1, 0.1), 10**6),
                          np.flatnonzero(in_view(x, y, (-0.1, 0.1, -0.1, 0.1))))   # fewer than the limit: all
    assert len(rows_in_view(x, y, None, 500)) == 500 and np.array_equal(rows_in_view(x, y, view, 1000), rows)


def test_zooming_in_only_adds_points():
    x, y = _points(50_000, seed=1)
    wide = rows_in_view(x, y, (-2.0, 2.0, -2.0, 2.0), limit=2000)
    for view in [(-1.0, 1.0, -1.0, 1.0), (-0.3, 0.5, 0.0, 0.4), (0.1, 0.12, 0.1, 0.12)]:
        narrow = rows_in_view(x, y, view, limit=2000)
        seen = wide[in_view(x[wide], y[wide], view)]
        assert np.isin(seen, narrow).all() and len(narrow) >= len(seen)
        assert len(narrow) > len(seen) or len(narrow) == in_view(x, y, view).sum()
        wide = narrow


def test_matches_are_limited_to_the_view_and_the_cap():
    x, y = _points(400_000, seed=2)
    mask = np.zeros(len(x), dtype=bool)
    mask[::2] = True                                                    # 200,000 matches
    rows = capped_matches(mask, x, y, None)
    assert len(rows) == MATCH_CAP and mask[rows].all()
    view = (0.0, 0.05, 0.0, 0.05)
    small = capped_matches(mask, x, y, view)
    assert np.array_equal(small, np.flatnonzero(mask & in_view(x, y, view)))   # fewer than the cap: all of them
    assert np.isin(rows[in_view(x[rows], y[rows], view)], small).all()


def test_density_grid_has_a_fixed_shape_and_counts_every_point():
    x, y = _points(30_000, seed=3)
    counts, box = density_grid(x, y)
    assert counts.shape == (DENSITY_BINS, DENSITY_BINS) and counts.sum() == 30_000
    assert box[0] < x.min() and box[1] > x.max() and box[2] < y.min() and box[3] > y.max()
    view = (0.0, 1.0, -1.0, 0.0)
    part, _ = density_grid(x, y, view, bins=64)
    assert part.shape == (64, 64) and part.sum() == in_view(x, y, view).sum()
    assert part[:32, :32].sum() == in_view(x, y, (0.0, 0.5, -1.0, -0.5)).sum()   # row = y, column = x
    trace = density_trace(x, y)
    z = np.frombuffer(base64.b64decode(trace["z"]["bdata"]), np.float32)
    assert trace["type"] == "heatmap" and trace["z"]["shape"] == f"{DENSITY_BINS},{DENSITY_BINS}"
    assert np.isnan(z).sum() == (counts == 0).sum() and np.allclose(np.expm1(z[~np.isnan(z)]).sum(), 30_000, rtol=1e-4)


def test_parse_view_accepts_four_finite_numbers_only():
    assert parse_view([0, 1.5, -2, 3]) == (0.0, 1.5, -2.0, 3.0)
    for bad in (None, [], [0, 1, 2], [0, 0, 1, 2], ["a", 1, 2, 3], [0, 1, 2, float("nan")], "0123", 5):
        assert parse_view(bad) is None, bad


# -- the figure ------------------------------------------------------------------------------------
def test_a_sampled_map_draws_the_view_its_capped_matches_and_the_selection():
    frame = _frame(12_000)
    view = (-0.5, 0.5, -0.5, 0.5)
    highlight = np.zeros(len(frame), dtype=bool)
    highlight[::2] = True
    outside = int(np.flatnonzero(~in_view(frame["x"].to_numpy(), frame["y"].to_numpy(), view))[0])
    fig = sent(map_figure(frame, "cluster", summaries=_summaries(frame), limit=1000, view=view,
                          highlight=highlight, selected=outside))
    assert fig["data"][0]["type"] == "heatmap" and fig["data"][0]["name"] == "density (all 12,000 points)"
    drawn = _marker_rows(fig)
    x, y = frame["x"].to_numpy()[drawn], frame["y"].to_numpy()[drawn]
    assert len(drawn) == 1001 and in_view(x, y, view).sum() == 1000 and outside in drawn
    matches = _rows_of(next(t for t in fig["data"] if t["name"] == "matches"))
    assert np.array_equal(matches, capped_matches(highlight, frame["x"].to_numpy(), frame["y"].to_numpy(), view))
    assert _rows_of(fig["data"][-1]).tolist() == [outside] and fig["data"][-1]["name"] == "selected"
    base = map_base(frame, "cluster", summaries=_summaries(frame), limit=1000, encode=True, view=view)
    assert base.sampled and base.view == view and len(base.rows) == 1000


def test_a_million_point_map_stays_under_10_mb_with_hover_texts_for_drawn_rows_only(monkeypatch):
    start = time.perf_counter()
    frame = _frame(1_000_000)
    summaries = _summaries(frame)
    made = []

    def hover_texts(part):
        made.append(len(part))
        return real(part)

    real = map_module.hover_texts
    monkeypatch.setattr(map_module, "hover_texts", hover_texts)
    highlight = np.zeros(len(frame), dtype=bool)
    highlight[::3] = True                                               # a filter matching 333,334 trailers
    base = map_base(frame, "cluster", summaries=summaries, encode=True)
    for view in (None, (-0.5, 0.5, -0.5, 0.5), (0.0, 0.01, 0.0, 0.01)):
        fig = map_figure(frame, "cluster", summaries=summaries, base=base, highlight=highlight, selected=7, view=view)
        payload = plotly.io.to_json(fig.to_dict(), validate=False)
        assert len(payload) < 10e6, (view, len(payload) / 1e6)
        assert sum(len(t["hovertext"]) for t in json.loads(payload)["data"][1:]) <= 30_000 + MATCH_CAP + 2
    assert max(made) <= 30_001 and sum(made) < 150_000                  # never the texts of all rows
    assert time.perf_counter() - start < 20


# -- the page --------------------------------------------------------------------------------------
@pytest.fixture
def large_set(tmp_path_factory, monkeypatch) -> str:
    """A generated set of 3,000 trailers (16-d) as an upload, with the map's point limit lowered to 1,000."""
    from mmx_core.appkit.uploads import keep_generated
    from mmx_core.trailers.published import load_published
    from mmx_core.explore.generate import generate_set
    from mmx_core.workspace import uploads_dir

    if not (uploads_dir() / "large-map" / "embeddings.npz").exists():
        keep_generated("large-map", generate_set(load_published(), 3000, 16, seed=0), "test: large map")
    monkeypatch.setenv("MMX_MAP_POINT_LIMIT", "1000")
    return "upload:large-map"


def _map_of(at: AppTest) -> tuple[dict, dict]:
    element = next(e for e in at.get("bidi_component") if e.proto.component_name == "mmx_plotly_map")
    data = json.loads(element.proto.json)
    return data, json.loads(data["figure"])


def test_the_explore_page_draws_a_large_set_as_density_plus_the_points_of_the_view(large_set):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["set"], at.query_params["projection"] = large_set, "pca"
    at.run()
    assert_clean(at)
    assert not at.get("plotly_chart") or "map" not in [e.key for e in at.get("plotly_chart")]
    assert "density of all 3,000 trailers and 1,000 sampled points of this view" in at.caption[0].value
    assert "count matches over the whole set" in at.caption[0].value
    data, fig = _map_of(at)
    assert data["plotly"] and "Plotly" in data["plotly"][:2000]        # plotly.js comes with the first map
    assert fig["data"][0]["type"] == "heatmap" and len(_marker_rows(fig)) == 1000
    density = fig["data"][0]
    left, width = density["x0"] - density["dx"] / 2, density["dx"] * 256
    view = [left, left + 0.3 * width, -1e3, 1e3]                        # the left 30% of the map
    at.session_state["map_large"] = {"view": view, "missing": 0}       # what the browser reports after a zoom
    at.run()
    assert_clean(at)
    data, fig = _map_of(at)
    assert data["plotly"] is None                                       # sent once per session
    drawn = _marker_rows(fig)
    assert 0 < len(drawn) < 1000 and fig["data"][0]["x0"] == pytest.approx(view[0] + (view[1] - view[0]) / 512)
    assert f"and {len(drawn):,} sampled points of this view" in at.caption[0].value
    xs = np.frombuffer(base64.b64decode(fig["data"][1]["x"]["bdata"]), np.float32)
    assert ((xs >= view[0] - 1e-6) & (xs <= view[1] + 1e-6)).all()     # the points of the new view only
