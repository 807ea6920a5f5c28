"""HDBSCAN of large collections: fitted on a sample, the other rows assigned, the tree extended to every row."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from mmx_core.explore import SubgenreClusterer
from mmx_core.explore.clustering import cluster_hierarchy, node_members
from mmx_core.explore.sampled_hdbscan import cpu_hdbscan, sampled_hdbscan
from mmx_core.explore.scale import ScalePolicy, sample_rows


def blobs_10d(n_per=400, n_blobs=6, seed=0):
    """Gaussian blobs in 10-d (a clustering space), and each row's blob."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, (n_blobs, 10))
    truth = np.repeat(np.arange(n_blobs), n_per)
    return (centres[truth] + rng.standard_normal((len(truth), 10))).astype(np.float32), truth


@pytest.fixture(scope="module")
def sampled():
    Z, truth = blobs_10d()
    rows = sample_rows(len(Z), 600, 3)
    return Z, truth, rows, sampled_hdbscan(Z, rows, 30, 5, "leaf", 0.0)


def test_the_sample_keeps_its_own_clustering_and_the_rest_joins_the_right_blob(sampled):
    Z, truth, rows, (labels, probabilities, _) = sampled
    alone, alone_p, _ = cpu_hdbscan(Z[rows], 30, 5, "leaf", 0.0)
    np.testing.assert_array_equal(labels[rows], alone)
    np.testing.assert_allclose(probabilities[rows], alone_p)
    rest = np.setdiff1d(np.arange(len(Z)), rows)
    assert adjusted_rand_score(truth[rest][labels[rest] >= 0], labels[rest][labels[rest] >= 0]) == 1.0
    assert np.mean(labels[rest] >= 0) > 0.8
    assert adjusted_rand_score(truth, labels) > 0.8
    full, _, _ = cpu_hdbscan(Z, 90, 5, "leaf", 0.0)  # the same share of the rows, fitted on all of them
    assert adjusted_rand_score(full, labels) > 0.8


def test_the_extended_tree_counts_every_row_under_the_node_of_its_cluster(sampled):
    Z, _, _, (labels, _, tree) = sampled
    n = len(Z)
    points = tree[tree["child"] < n]
    assert sorted(points["child"]) == list(range(n))  # each row falls out of the tree exactly once
    assert tree["parent"].min() == n  # the root is n, as in a tree fitted on all rows
    hierarchy = cluster_hierarchy(tree, labels)
    assert hierarchy.loc[hierarchy["node"] == n, "size"].item() == n
    np.testing.assert_array_equal(node_members(tree, n, n), np.arange(n))
    for node, size, cluster in hierarchy[["node", "size", "cluster"]].itertuples(index=False):
        members = node_members(tree, node, n)
        assert len(members) == size
        if cluster >= 0:
            assert set(np.flatnonzero(labels == cluster)) <= set(members)


def test_clusterer_samples_hdbscan_above_the_limit_and_says_so():
    Z, truth = blobs_10d(n_per=100, n_blobs=4)
    policy = ScalePolicy(sample_fit_above=300, fit_sample=200, mcs_reference=100)
    model = SubgenreClusterer(min_cluster_size=20, min_samples=5, space="raw").fit(Z, scale=policy)
    plan = model.plan_["hdbscan"]
    assert plan == {"fit": "sample+approximate_predict", "fit_rows": 200, "sample_seed": 0,
                    "min_cluster_size": round(model.min_cluster_size_ * 200 / 400)}
    assert adjusted_rand_score(truth[model.labels_ >= 0], model.labels_[model.labels_ >= 0]) == 1.0
    assert model.n_clusters_ == 4 and len(node_members(model.condensed_tree_, len(Z), len(Z))) == len(Z)
    small = SubgenreClusterer(min_cluster_size=20, min_samples=5, space="raw").fit(Z[:300], scale=policy)
    assert "hdbscan" not in (small.plan_ or {})
