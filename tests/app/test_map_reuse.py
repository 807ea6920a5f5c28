"""The Explore map's shared base: a click adds its star to a base built once, and the browser gets the same
figure as when everything is built afresh."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import plotly.io
import pytest

from mmx_core.appkit.figure_payload import Texts
from mmx_core.appkit.map_figure import map_base, map_figure
from mmx_core.appkit.map_groups import focus_on


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"id": [f"t{i}" for i in range(n)], "x": rng.normal(size=n), "y": rng.normal(size=n),
                          "cluster": rng.integers(-1, 4, n), "display_title": [f"T {i}" for i in range(n)],
                          "year": pd.array(rng.integers(1950, 2020, n), dtype="Int64"),
                          "genre_list": [["Drama"] if i % 3 else ["Horror", "Drama"] for i in range(n)]})
    frame.loc[5, "year"] = pd.NA
    frame["genres"] = frame["genre_list"].map(", ".join)
    frame["cluster_label"] = [f"c{c} 50%" if c >= 0 else "noise" for c in frame["cluster"]]
    return frame


def _summaries(frame: pd.DataFrame) -> pd.DataFrame:
    centres = frame[frame["cluster"] >= 0].groupby("cluster")[["x", "y"]].median().reset_index()
    centres["label"] = [f"cluster {c}" for c in centres["cluster"]]
    centres["short_label"] = centres["label"]
    centres["legend_label"] = [f"legend {c}" for c in centres["cluster"]]
    return centres


def sent(fig) -> dict:
    """The figure as Streamlit sends it (``st.plotly_chart``: ``to_dict`` then plotly's JSON)."""
    return json.loads(plotly.io.to_json(fig.to_dict(), validate=False))


@pytest.mark.parametrize("colour, extra", [("cluster", {}), ("genre", {"genre": "Horror"}), ("year", {}),
                                           ("change", {"change": np.linspace(0, 1, 300), "labels": False,
                                                       "title": "B", "height": 480})])
def test_a_shared_base_sends_the_same_figure_as_building_it_afresh(colour, extra):
    frame = _frame(300)
    summaries = _summaries(frame) if colour == "cluster" else None
    base = map_base(frame, colour, summaries=summaries, encode=True, **extra)
    before = copy.deepcopy((base.data, base.layout))
    highlight = np.zeros(300, dtype=bool)
    highlight[[3, 40, 299]] = True
    for overlays in ({}, {"selected": 7}, {"selected": 12, "highlight": highlight, "focus": (-1.0, 1.0, -0.5, 0.5)}):
        fresh = sent(map_figure(frame, colour, summaries=summaries, **extra, **overlays))
        reused = sent(map_figure(frame, colour, summaries=summaries, base=base, **extra, **overlays))
        assert reused == fresh, overlays
    assert sent(map_figure(frame, colour, summaries=summaries, base=base, selected=7, **extra))["data"][-1][
        "name"] == "selected"
    after = (base.data, base.layout)
    assert json.dumps(before, default=list) == json.dumps(after, default=list)     # overlays never touch the base


def test_encoded_arrays_are_plotlys_typed_arrays():
    frame = _frame(50)
    trace = map_base(frame, "cluster", encode=True).data[0]
    assert set(trace["x"]) == {"dtype", "bdata"} and trace["x"]["dtype"] == "f4"
    rows = np.frombuffer(__import__("base64").b64decode(trace["customdata"]["bdata"]), dtype=np.int32)
    assert (frame["cluster"].to_numpy()[rows] < 0).all()                          # the noise trace's rows
    plain = map_base(frame, "cluster").data[0]
    assert np.array_equal(plain["customdata"], rows)


def test_a_sampled_base_is_rebuilt_when_a_selected_point_was_left_out():
    frame = _frame(2000)
    base = map_base(frame, "cluster", limit=500, encode=True)
    outside = int(np.setdiff1d(np.arange(2000), base.rows)[0])
    fig = sent(map_figure(frame, "cluster", limit=500, base=base, selected=outside))
    drawn = np.concatenate([np.frombuffer(__import__("base64").b64decode(t["customdata"]["bdata"]), dtype=np.int32)
                            for t in fig["data"][1:-1]])                           # density first, star last
    assert outside in drawn and fig == sent(map_figure(frame, "cluster", limit=500, selected=outside))


def test_hover_texts_are_shared_by_copies_and_written_as_lists():
    texts = Texts(["<b>A</b> (1999)", "<b>B</b> (?)"])
    assert copy.deepcopy(texts) is texts and list(texts) == ["<b>A</b> (1999)", "<b>B</b> (?)"]
    assert texts == ["<b>A</b> (1999)", "<b>B</b> (?)"] and len(texts) == 2
    fig = map_figure(_frame(20), "cluster")
    assert sent(fig)["data"][0]["hovertext"] == list(fig.data[0].hovertext)


def test_focus_on_pads_the_larger_spread_and_skips_no_points():
    points = pd.DataFrame({"x": [0.0, 2.0, 1.0], "y": [1.0, 1.5, 1.2]})
    assert focus_on(points) == pytest.approx((-0.1, 2.1, 0.9, 1.6))          # pad = 5% of the x spread (2)
    assert focus_on(points.iloc[:1]) == pytest.approx((-5e-5, 5e-5, 1 - 5e-5, 1 + 5e-5))   # one point: a tiny box
    assert focus_on(points.iloc[:0]) is None
    ranges = sent(map_figure(_frame(30), "year", focus=focus_on(points)))["layout"]
    assert ranges["xaxis"]["range"] == pytest.approx([-0.1, 2.1]) and ranges["yaxis"]["range"] == pytest.approx([0.9, 1.6])
