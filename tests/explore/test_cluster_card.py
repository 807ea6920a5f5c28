"""The cluster card (typical members, persistence, stability over neighbouring sizes, terms with two lifts), the
minimum-cluster-size sweep (cached once per set) and the cliff rule, on small planted sets with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmx_core.base.artefacts import read_json
from mmx_core.trailers.embeddings import EmbeddingSet, save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.cli import main
from mmx_core.explore.cached_clusters import clusters
from mmx_core.explore.cached_neighbours import clear_memory_caches
from mmx_core.explore.cached_clusters import ClusterResult
from mmx_core.explore.cached_sweep import mcs_sweep, sweep_path
from mmx_core.explore.cluster_card import cluster_card, cluster_persistence, excess_of_mass, sibling_clusters
from mmx_core.explore.cluster_terms import TermIncidence, term_incidence, term_lifts
from mmx_core.explore.clustering import SubgenreClusterer, cluster_hierarchy
from mmx_core.explore.mcs_sweep import CLIFF, CliffRule, cliff_steps, cliff_warning

SIZES = [60, 60, 60, 15, 15]
"""Three well-separated blobs, then two close small ones that merge once the minimum size passes 15."""
PARAMS = {"space": "raw", "min_samples": 5}


def planted_set() -> tuple[EmbeddingSet, np.ndarray]:
    rng = np.random.default_rng(0)
    dim = 32
    centres = np.eye(dim)[:5] * 4.0
    centres[4] = centres[3] + np.eye(dim)[4] * 0.6
    truth = np.repeat(np.arange(5), SIZES)
    X = (centres[truth] + 0.05 * rng.standard_normal((len(truth), dim))).astype(np.float32)
    ids = np.array([f"p{i:03d}" for i in range(len(truth))])
    words = ["Dark Night", "Funny Day", "War Story", "Zombie Beach", "Zombie Town"]
    genres = [["Horror"], ["Comedy"], ["War"], ["Horror", "Comedy"], ["Horror", "Comedy"]]
    meta = pd.DataFrame({"id": ids, "display_title": [f"{words[t]} {i}" for i, t in enumerate(truth)],
                         "year": [1950 + 10 * t + i % 3 for i, t in enumerate(truth)],
                         "genres": [genres[t] for t in truth]})
    return EmbeddingSet(ids, X, meta, "planted"), truth


@pytest.fixture(scope="module")
def planted():
    return planted_set()


def _cluster_of(result: ClusterResult, rows: np.ndarray) -> int:
    labels = result.table["cluster"].to_numpy()[rows]
    assert (labels == labels[0]).all() and labels[0] >= 0
    return int(labels[0])


def test_card_sizes_typical_members_and_persistence(planted):
    emb, truth = planted
    result = clusters(emb, min_cluster_size=12, **PARAMS)
    labels = result.table["cluster"].to_numpy()
    for c in range(result.n_clusters):
        card = cluster_card(emb, result, c, n_typical=8)
        assert card.size == int((labels == c).sum())
        assert len(card.typical_ids) == 8
        assert set(card.typical_ids) <= set(emb.ids[labels == c])                      # typical members are members
        assert card.typical_ids[:5] == list(result.summary(c).typical_ids)              # the summaries' order
        assert 0.0 < card.persistence <= 1.0 and card.excess_of_mass > 0
        assert card.stability is None and card.neighbour_jaccard == {}                  # no neighbours asked for
    sizes = sorted(cluster_card(emb, result, c).size for c in range(result.n_clusters))
    assert sizes == sorted(SIZES)
    with pytest.raises(MMXError, match="cluster 9 does not exist"):
        cluster_card(emb, result, 9)


def test_persistence_is_hdbscans_cluster_persistence(planted):
    import hdbscan

    emb, _ = planted
    model = hdbscan.HDBSCAN(min_cluster_size=12, min_samples=5, cluster_selection_method="leaf").fit(emb.vectors)
    tree = model.condensed_tree_.to_pandas()[["parent", "child", "lambda_val", "child_size"]]
    table = pd.DataFrame({"id": emb.ids, "cluster": model.labels_, "probability": model.probabilities_})
    result = ClusterResult(table, [], tree, cluster_hierarchy(tree, model.labels_), {"min_cluster_size": 12})
    mine = [cluster_persistence(result, c)[0] for c in range(result.n_clusters)]
    np.testing.assert_allclose(mine, model.cluster_persistence_, rtol=1e-9)


def test_excess_of_mass_on_a_hand_made_tree():
    # root 4 splits at lambda 1 into 5 (points 0, 1) and 6 (points 2, 3); points leave 5 at 3 and 5, 6 at 2 and 2.
    tree = pd.DataFrame({"parent": [4, 4, 5, 5, 6, 6], "child": [5, 6, 0, 1, 2, 3],
                         "lambda_val": [1.0, 1.0, 3.0, 5.0, 2.0, 2.0], "child_size": [2, 2, 1, 1, 1, 1]})
    assert excess_of_mass(tree) == {4: 4.0, 5: 6.0, 6: 2.0}


def test_stability_is_one_for_a_separated_cluster_and_lower_for_an_unstable_one(planted):
    emb, truth = planted
    result = clusters(emb, min_cluster_size=12, **PARAMS)
    separated = _cluster_of(result, np.flatnonzero(truth == 0))
    unstable = _cluster_of(result, np.flatnonzero(truth == 3))
    card = cluster_card(emb, result, separated, neighbour_sizes=(8, 16))
    assert card.stability == 1.0 and card.neighbour_jaccard == {8: 1.0, 16: 1.0}
    card = cluster_card(emb, result, unstable, neighbour_sizes=(8, 16))
    assert card.neighbour_jaccard == {8: 1.0, 16: 0.5}                  # at 16 it merges with its twin: 15 / 30
    assert card.stability == 0.75
    assert card.note == ""                                               # all three computed here


def test_siblings_and_terms_of_the_twin_clusters(planted):
    emb, truth = planted
    result = clusters(emb, min_cluster_size=12, **PARAMS)
    beach, town = (_cluster_of(result, np.flatnonzero(truth == t)) for t in (3, 4))
    assert sibling_clusters(result, beach) == ([town], "parent")
    terms = cluster_card(emb, result, beach).terms.set_index("term")
    n = len(truth)
    assert terms.loc["beach", "lift_collection"] == pytest.approx(n / 15)
    assert np.isinf(terms.loc["beach", "lift_siblings"])                 # no sibling title says "beach"
    assert terms.loc["zombie", "lift_collection"] == pytest.approx(n / 30)
    assert terms.loc["zombie", "lift_siblings"] == pytest.approx(1.0)   # both twins say "zombie"
    assert terms.loc["1980s", "kind"] == "decade" and terms.loc["1980s", "lift_siblings"] == np.inf
    assert list(terms["kind"]) == sorted(terms["kind"], key=["word", "decade", "genre"].index)


def test_term_lifts_on_a_hand_made_case():
    # 10 trailers; members 0-3, siblings 4-7. Term x: rows 0, 1, 2, 4. Term y: rows 0, 8, 9 (share 1/4 < 2 members).
    matrix = np.zeros((10, 2), dtype=np.int8)
    matrix[[0, 1, 2, 4], 0] = 1
    matrix[[0, 8, 9], 1] = 1
    from scipy import sparse

    incidence = TermIncidence(np.array(["word", "word"], dtype=object), np.array(["x", "y"], dtype=object),
                              sparse.csr_matrix(matrix))
    table = term_lifts(incidence, np.arange(4), np.arange(4, 8))
    assert table["term"].tolist() == ["x"]
    row = table.iloc[0]
    assert (row["count"], row["share"]) == (3, 0.75)
    assert row["lift_collection"] == pytest.approx(0.75 / 0.4)
    assert row["share_siblings"] == 0.25 and row["lift_siblings"] == pytest.approx(3.0)
    assert np.isnan(term_lifts(incidence, np.arange(4), np.array([], dtype=int)).iloc[0]["lift_siblings"])


def test_term_incidence_reads_words_decades_and_genres():
    meta = pd.DataFrame({"display_title": ["The Dark Night", "Dark Water", "Sunny"], "year": [1971, 1979, None],
                         "genres": [["Horror"], ["Horror", "Drama"], []]})
    incidence = term_incidence(meta, 3)
    terms = dict(zip(zip(incidence.kinds, incidence.terms), incidence.counts(np.arange(3))))
    assert terms[("word", "dark")] == 2 and terms[("word", "sunny")] == 1 and ("word", "the") not in terms
    assert terms[("decade", "1970s")] == 2 and terms[("genre", "Horror")] == 2 and terms[("genre", "Drama")] == 1


def test_sweep_is_computed_once_and_cached_on_disk(planted, monkeypatch):
    emb, _ = planted
    calls = []
    fit = SubgenreClusterer.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(self.min_cluster_size)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(SubgenreClusterer, "fit", counting_fit)
    assert sweep_path(emb, [8, 12, 16], **PARAMS) is None
    first = mcs_sweep(emb, [16, 8, 12], **PARAMS)
    assert first["mcs"].tolist() == [8, 12, 16] and first["n_clusters"].tolist() == [5, 5, 4]
    assert calls == [8, 12, 16]
    path = sweep_path(emb, [8, 12, 16], **PARAMS)
    assert path is not None and path.is_file()
    record = read_json(str(path) + ".json")
    assert record["step"] == "mcs_sweep" and record["params"]["values"] == [8, 12, 16]
    assert record["inputs"]["embeddings"] == emb.content_hash
    clear_memory_caches()
    again = mcs_sweep(emb, [8, 12, 16], **PARAMS)
    assert calls == [8, 12, 16]                                          # read, not fitted again
    pd.testing.assert_frame_equal(first, again)
    with pytest.raises(MMXError, match="at least 2, got 1"):
        mcs_sweep(emb, [1, 8], **PARAMS)


def test_sweep_matches_the_clusterings_of_each_size(planted):
    emb, _ = planted
    sweep = mcs_sweep(emb, [8, 12, 16, 20], **PARAMS)
    for row in sweep.itertuples():
        result = clusters(emb, min_cluster_size=row.mcs, **PARAMS)
        assert (row.n_clusters, row.noise_share) == (result.n_clusters, round(result.noise_share, 4))


def test_fits_at_several_sizes_share_one_spanning_tree_and_give_the_same_clusters(planted, tmp_path):
    from joblib import Memory

    from mmx_core.explore.sampled_hdbscan import cpu_hdbscan

    Z = SubgenreClusterer(**PARAMS).fit(planted[0].vectors).reduced_

    def trees_kept(folder):
        return sum(1 for p in folder.rglob("output.pkl"))

    for min_samples, trees in ((5, 1), (None, 2)):       # None: min_samples follows the size, so does the tree
        folder = tmp_path / str(min_samples)
        for size in (8, 16):
            shared = cpu_hdbscan(Z, size, min_samples, "leaf", 0.0, Memory(folder, verbose=0))
            alone = cpu_hdbscan(Z, size, min_samples, "leaf", 0.0)
            assert np.array_equal(shared[0], alone[0]) and np.array_equal(shared[1], alone[1])
            pd.testing.assert_frame_equal(shared[2], alone[2])
        assert trees_kept(folder) == trees


def test_clusterings_at_several_sizes_fit_the_umap_space_once_and_match_a_fresh_fit(planted, monkeypatch):
    from mmx_core.explore import clustering
    from mmx_core.explore.projection import Projector

    X, fits, fit_transform = planted[0].vectors, [], Projector.fit_transform
    monkeypatch.setattr(Projector, "fit_transform", lambda *args, **kw: fits.append(1) or fit_transform(*args, **kw))
    clustering._SPACES.clear()
    small, large = (SubgenreClusterer(min_cluster_size=m).fit(X) for m in (8, 16))
    assert len(fits) == 1 and small.reduced_ is large.reduced_
    clustering._SPACES.clear()
    fresh = SubgenreClusterer(min_cluster_size=16).fit(X)
    assert len(fits) == 2 and np.array_equal(fresh.reduced_, large.reduced_)
    assert np.array_equal(fresh.labels_, large.labels_)


HAND_SWEEP = pd.DataFrame({"mcs": [10, 15, 20, 25, 30], "n_clusters": [60, 42, 32, 20, 18],
                           "noise_share": [0.40, 0.41, 0.42, 0.43, 0.55]})


def test_cliff_rule_on_a_hand_made_sweep():
    steps = cliff_steps(HAND_SWEEP)
    # 10->15: ln(60/42)/ln(1.5) = 0.88; 15->20: 0.95; 20->25: ln(32/20)/ln(1.25) = 2.11; 25->30: noise +0.12
    np.testing.assert_allclose(steps["elasticity"], [0.8797, 0.9453, 2.1063, 0.5779], atol=1e-4)
    assert steps["cliff"].tolist() == [False, False, False, True]
    assert cliff_warning(HAND_SWEEP, 15) is None
    warning = cliff_warning(HAND_SWEEP, 30)
    assert warning.startswith("Minimum cluster size 30 sits on a cliff") and "43% to 55%" in warning
    assert "\n" not in warning
    assert cliff_warning(HAND_SWEEP, 27) is not None                 # between two sizes: the step around it
    strict = CliffRule(min_change=3, elasticity=2.0, noise_jump=0.2)
    assert cliff_steps(HAND_SWEEP, strict)["cliff"].tolist() == [False, False, True, False]
    assert CLIFF.elasticity == 2.5


def test_cli_prints_a_card_and_the_sweep(planted, tmp_path, capsys):
    emb, _ = planted
    path = tmp_path / "planted.npz"
    save_embeddings(path, emb.ids, emb.vectors)
    emb.metadata.to_parquet(tmp_path / "planted.parquet")
    assert main(["cluster-card", "--embeddings", str(path), "--cluster", "0", "--mcs", "20", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["cluster"] == 0 and card["size"] >= 15 and card["min_cluster_size"] == 20
    assert set(card["neighbour_jaccard"]) == {"15", "25"} and 0 < card["stability"] <= 1
    assert main(["cluster-card", "--embeddings", str(path), "--cluster", "0", "--mcs", "20"]) == 0
    assert capsys.readouterr().out.startswith("cluster 0: ")
    assert main(["cluster-card", "--embeddings", str(path), "--sweep", "--mcs", "20", "--json"]) == 0
    sweep = json.loads(capsys.readouterr().out)
    assert [r["mcs"] for r in sweep["sweep"]] == list(range(5, 201, 5))
    assert main(["cluster-card", "--embeddings", str(path), "--cluster", "0", "--mcs", "500"]) != 0
    assert "too few" in capsys.readouterr().err
