"""AppTest of ui/cluster_card.py on the published set: the card (grid, metrics, terms) and the sweep draw without
errors, a grid button opens its trailer, and the sweep marks the slider's value and warns on a cliff."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

TIMEOUT = 240


def card_script(cluster: int = 0, mcs: int = 40) -> None:
    from mmx_core import workspace
    from ui import cluster_card, widgets

    widgets.setup("Explore")
    emb = workspace.load_set("published")
    data = widgets.map_for("published", "umap", mcs)
    cluster_card.draw_cluster_card(emb, data, cluster, mcs)
    cluster_card.draw_mcs_sweep(emb, mcs)


def _run(mcs: int = 40) -> AppTest:
    at = AppTest.from_function(card_script, kwargs={"mcs": mcs}, default_timeout=TIMEOUT)
    return at.run()


def test_card_and_sweep_draw_and_a_member_opens():
    at = _run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value.startswith("Cluster card: ")
    assert [m.label for m in at.metric] == ["size", "persistence", "stability"]
    terms = at.dataframe[0].value
    assert list(terms.columns) == ["kind", "term", "members", "lift vs collection", "lift vs siblings"]
    buttons = [b for b in at.button if b.key.startswith("card_open_")]
    assert len(buttons) == 12
    trailer = buttons[2].key[len("card_open_"):]
    buttons[2].click().run()
    assert at.session_state["view"].trailer == trailer
    sweep = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in sweep["data"]] == ["clusters", "noise"]
    assert any(s.get("x0") == 40 and s.get("x1") == 40 for s in sweep["layout"]["shapes"])   # the slider's value


def test_sweep_warns_on_a_cliff():
    at = AppTest.from_function(card_script, kwargs={"mcs": 125}, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    sweep = json.loads(at.get("plotly_chart")[0].proto.spec)
    cliffs = [s for s in sweep["layout"]["shapes"] if s.get("x0") != s.get("x1")]
    marked = [s for s in sweep["layout"]["shapes"] if s.get("x0") == s.get("x1") == 125]
    assert marked
    if any(s["x0"] <= 125 <= s["x1"] for s in cliffs):                 # the rule found a cliff at 125: it says so
        assert at.warning and "sits on a cliff" in at.warning[0].value
    else:
        assert not at.warning
