"""Cluster labels as data: summaries carry their short and legend labels, figures draw those fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmx_core.appkit import figures
from mmx_core.appkit.map_figure import SHORT_WIDTH, map_figure
from mmx_core.base.artefacts import file_hash, params_key, read_json
from mmx_core.trailers.published import load_published
from mmx_core.base.paths import shipped_cache_dir
from mmx_core.explore import SubgenreClusterer
from mmx_core.explore import cached_clusters
from mmx_core.explore.labels import ClusterLabels, ClusterSummary, default_label, summarise_clusters

from .conftest import make_blobs


def _summaries(label_maker):
    X, labels = make_blobs(n_per=20, n_blobs=3, dim=12)
    n = len(labels)
    meta = pd.DataFrame({"id": [f"t{i}" for i in range(n)],
                         "genres": [[["Horror"], ["Comedy"], ["War"]][b] for b in labels],
                         "year": [1990 + 10 * b + i % 4 for i, b in enumerate(labels)],
                         "display_title": [f"Title {i}" for i in range(n)]})
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    return summarise_clusters(labels, np.ones(n, np.float32), unit, meta["id"].to_numpy(), meta,
                              label_maker=label_maker)


def test_default_label_gives_three_forms():
    s = _summaries(default_label)[0]
    assert s.label == f"Horror · {s.year_span[0]}-{s.year_span[1]} · like {s.typical_titles[0]}"
    assert s.short_label == "Horror"
    assert s.legend_label == f"Horror · {s.year_span[0]}-{s.year_span[1]}"
    assert ClusterSummary.from_dict(s.to_dict()) == s  # the fields travel through the cached JSON


def test_a_plain_string_label_maker_fills_every_form():
    s = _summaries(lambda summary: f"group {summary.cluster} · 1999 · like nothing")[1]
    assert s.label == s.short_label == s.legend_label == "group 1 · 1999 · like nothing"


def test_summaries_cached_before_the_fields_get_them_from_their_label_maker():
    record = _summaries(default_label)[2].to_dict()
    old = {k: v for k, v in record.items() if k not in ("short_label", "legend_label")}
    restored = ClusterSummary.from_dict(old, default_label)
    assert (restored.label, restored.short_label, restored.legend_label) == \
        (record["label"], record["short_label"], record["legend_label"])
    bare = ClusterSummary.from_dict(old)  # no label maker known: the full label everywhere
    assert bare.short_label == bare.legend_label == record["label"]


def test_a_custom_label_maker_reaches_the_map_and_its_legend():
    # Labels an LLM might write: nothing like the default "genres · years · like title" text.
    def maker(summary):
        return ClusterLabels(label=f"Cluster number {summary.cluster}, 2001-2003 · like a 1990s slasher",
                             short=f"C{summary.cluster} · 1990s", legend=f"Number {summary.cluster} · like it")

    summaries = _summaries(maker)
    table = pd.DataFrame([s.to_dict() for s in summaries])
    table["x"], table["y"] = [0.0, 1.0, 2.0], [0.0, 1.0, 2.0]
    frame = pd.DataFrame({"x": np.arange(6.0), "y": np.arange(6.0), "cluster": [0, 0, 1, 1, 2, -1],
                          "cluster_label": [summaries[c].label if c >= 0 else "noise" for c in [0, 0, 1, 1, 2, -1]],
                          "display_title": list("abcdef"), "year": [2000] * 6, "genres": [""] * 6,
                          "genre_list": [[]] * 6})
    fig = map_figure(frame, "cluster", summaries=table)
    assert [a.text for a in fig.layout.annotations] == ["C0 · 1990s", "C1 · 1990s", "C2 · 1990s"]
    assert [t.name for t in fig.data] == ["noise", "Number 0 · like it", "Number 1 · like it", "Number 2 · like it"]
    # Without summaries (the Compare page), the frame's legend column names the clusters.
    frame["cluster_legend"] = [summaries[c].legend_label if c >= 0 else "noise" for c in frame["cluster"]]
    assert [t.name for t in map_figure(frame, "cluster").data][1:] == \
        ["Number 0 · like it", "Number 1 · like it", "Number 2 · like it"]
    transitions = pd.DataFrame({"cluster_a": [0, 1], "cluster_b": [1, 2], "count": [9, 7]})
    legends = {s.cluster: s.legend_label for s in summaries}
    sankey = figures.sankey_figure(transitions, legends, legends, min_count=1)
    assert list(sankey.data[0].node.label) == ["A Number 0 · like it", "A Number 1 · like it",
                                               "B Number 1 · like it", "B Number 2 · like it"]


def test_long_labels_are_cut_not_parsed():
    assert figures.cut("x" * 40, figures.LEGEND_WIDTH) == "x" * (figures.LEGEND_WIDTH - 1) + "…"
    assert figures.cut("Horror · 1990-2000", SHORT_WIDTH) == "Horror · 1990-2000"


def test_the_shipped_cluster_summaries_are_still_hit_and_read(monkeypatch):
    from mmx_core.explore.backends import cache_params  # the backend stays out of CPU keys

    # assets/cache holds summaries written before they carried short/legend labels; their cache keys
    # must not change (nothing is computed) and reading them fills the fields from default_label.
    def no_fit(*args, **kwargs):
        raise AssertionError("the shipped cache was missed: clusters were recomputed")

    monkeypatch.setattr(SubgenreClusterer, "fit", no_fit)
    published = load_published()
    result = cached_clusters.clusters(published)
    assert result.path.parent.parent == shipped_cache_dir()
    inputs = {"embeddings": published.content_hash, "clusters": file_hash(result.path),
              "metadata": cached_clusters.metadata_hash(published)}
    key = params_key("cluster_summaries", {**cache_params(SubgenreClusterer.defaults(), "cpu"),
                                           "label_maker": "mmx_core.explore.labels.default_label"}, inputs)
    stored = read_json(shipped_cache_dir() / "cluster_summaries" / f"{key}.json")
    assert len(stored) == len(result.summaries) > 0
    for record, summary in zip(stored, result.summaries):
        made = default_label(summary)
        assert summary.label == record["label"] == made.label
        assert (summary.short_label, summary.legend_label) == (made.short, made.legend)
        assert summary.short_label and summary.legend_label


@pytest.mark.parametrize("bad", [None, 3, ("a", "b")])
def test_a_label_maker_returning_something_else_is_refused(bad):
    with pytest.raises(TypeError, match="returns a str or a ClusterLabels"):
        _summaries(lambda summary: bad)
