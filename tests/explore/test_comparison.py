"""The one comparison: its minimum, its messages on small sets, the CLI and the app's table agree."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mmx_core.appkit import map_tables
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.cli import build_parser, main
from mmx_core.explore import cached_comparison
from mmx_core.explore.compare import MIN_SHARED_IDS, SUMMARY_KEYS, SpaceComparison, transition_table
from mmx_core.explore.labels import ClusterSummary
from mmx_core.workspace import load_set

from .conftest import blob_set


def compare_options() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["compare"]
    return {s for action in sub._actions for s in action.option_strings}


def write_pair(folder, n_a: int, n_b: int, seed: int = 5):
    emb = blob_set(n_per=60, dim=64, seed=seed)
    noisy = emb.vectors + 0.01 * np.random.default_rng(0).random(emb.vectors.shape).astype(np.float32)
    save_embeddings(folder / "a.npz", emb.ids[:n_a], emb.vectors[:n_a])
    save_embeddings(folder / "b.npz", emb.ids[:n_b], noisy[:n_b])
    emb.metadata.to_parquet(folder / "trailers.parquet", index=False)
    return str(folder / "a.npz"), str(folder / "b.npz")


def test_too_few_shared_ids_name_the_one_minimum(tmp_path, capsys):
    a, b = write_pair(tmp_path, MIN_SHARED_IDS - 1, 50)
    assert main(["compare", "--a", a, "--b", b]) == 2
    err = capsys.readouterr().err
    assert f"share {MIN_SHARED_IDS - 1} trailer ids" in err and f"at least {MIN_SHARED_IDS} shared ids" in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("extra, parameter", [([], "min_cluster_size"), (["-k", "40"], "k")])
def test_a_small_set_is_refused_naming_only_options_compare_has(tmp_path, capsys, extra, parameter):
    a, b = write_pair(tmp_path, 30, 30)
    assert main(["compare", "--a", a, "--b", b, *extra]) == 2
    err = capsys.readouterr().err
    option = re.match(r"error: argument (-[-a-z]+): ", err)     # a parameter error, named as compare's option
    if option:
        assert option.group(1).lstrip("-").replace("-", "_") == parameter and option.group(1) in compare_options()
        return
    assert re.search(rf"\b{parameter}=", err), err
    named = set(re.findall(r"\b([a-z_]+)=", err.split(": ", 2)[-1]))   # parameters the message names
    assert parameter in named
    options = compare_options()
    for name in named:                                      # each is an option of compare
        assert f"--{name.replace('_', '-')}" in options or f"-{name}" in options, (name, err)


def test_cli_summary_is_the_comparison_the_app_draws(tmp_path, capsys):
    a_path, b_path = write_pair(tmp_path, 240, 238)
    out = tmp_path / "cmp.parquet"
    assert main(["compare", "--a", a_path, "--b", b_path, "-k", "5", "--min-cluster-size", "20",
                 "--projection", "pca", "--json", "--out", str(out)]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert set(cli) == set(SUMMARY_KEYS)
    a, b = load_set(a_path), load_set(b_path)                # what the Compare page does (ui/widgets.py)
    result = cached_comparison.comparison(a, b, k=5, cluster_params={"min_cluster_size": 20},
                                          projection_params={"method": "pca"})
    table = map_tables.comparison_table(result, a)
    assert {key: result.summary[key] for key in SUMMARY_KEYS} == cli
    assert cli["n"] == len(table) == 238 and table["jaccard"].mean() == pytest.approx(cli["jaccard_mean"])
    written = pd.read_parquet(out)
    assert written["id"].tolist() == table["id"].tolist()
    np.testing.assert_allclose(written["jaccard"], table["jaccard"])
    assert cli["n_clusters_a"] == len(result.labels("a")) and cli["n_clusters_b"] == len(result.labels("b"))


def _summary(cluster: int, label: str) -> ClusterSummary:
    return ClusterSummary(cluster, label, 1, short_label=label[:3], legend_label=f"{label} (legend)")


def test_split_example_is_the_cluster_spread_most_evenly():
    coarse = np.array([0] * 10 + [1] * 10 + [2] * 4)
    fine = np.array([5] * 5 + [6] * 5 + [7] * 9 + [-1] + [8] * 4)
    result = SpaceComparison({}, pd.DataFrame(), pd.DataFrame(), transition_table(coarse, fine),
                             summaries_a=[_summary(c, f"A{c}") for c in (0, 1, 2)],
                             summaries_b=[_summary(c, f"B{c}") for c in (5, 6, 7, 8)])
    assert result.split_example() == {"cluster_a": 0, "label_a": "A0", "targets": [(5, "B5", 5), (6, "B6", 5)]}
    assert result.labels("b", "legend_label")[7] == "B7 (legend)" and result.labels("a", "short_label")[1] == "A1"
    unsplit = SpaceComparison({}, pd.DataFrame(), pd.DataFrame(), transition_table(coarse, np.zeros(24, int)))
    assert unsplit.split_example() == {}


def test_a_comparison_searches_every_row_through_given_indexes_with_fewer_probes():
    from mmx_core.base.errors import MMXError
    from mmx_core.explore.compare import ALL_ROWS_PROBE, compare_spaces
    from mmx_core.explore.neighbours import NeighbourIndex

    emb = blob_set(n_per=300, dim=32, seed=3)
    X_a, X_b = emb.vectors, emb.vectors[:, ::-1].copy()
    exact = compare_spaces(X_a, X_b, emb.ids, k=5)
    ivf_a = NeighbourIndex(backend="ivf", n_lists=8, n_probe=8).build(X_a)
    ivf_b = NeighbourIndex(backend="ivf", n_lists=8, n_probe=8).build(X_b)
    given = compare_spaces(X_a, X_b, emb.ids, k=5, index_a=ivf_a, index_b=ivf_b)
    np.testing.assert_allclose(given.table["jaccard"], exact.table["jaccard"])  # all 8 lists probed: exact
    assert ivf_a.n_probe == 8 and ALL_ROWS_PROBE < NeighbourIndex().n_probe
    few = NeighbourIndex(backend="ivf", n_lists=16, n_probe=16).build(X_a)
    assert not np.array_equal(few.all_neighbours(5, n_probe=1), few.all_neighbours(5))  # the probe is used
    np.testing.assert_array_equal(few.query(np.arange(len(X_a)), 5)[0], few.all_neighbours(5))  # and restored
    with pytest.raises(MMXError, match=r"the index of B covers 1200 x 32 rows, not 599 x 32"):
        compare_spaces(X_a[:599], X_b[:599], emb.ids[:599], index_b=ivf_b)
