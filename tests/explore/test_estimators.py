"""Known answers for the exploration estimators that do not need UMAP (fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from mmx_core.base.errors import MMXError
from mmx_core.explore import NeighbourIndex, Projector, SubgenreClusterer
from mmx_core.explore.clustering import drill, node_members
from mmx_core.explore.compare import compare_spaces, knn_jaccard, procrustes_align, transition_table
from mmx_core.explore.labels import summarise_clusters
from mmx_core.explore.exact_knn import exact_topk
from mmx_core.explore.neighbours import recall_at_k



def brute_force(X, k):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k], -np.sort(-S, axis=1)[:, :k]


def test_pca_projection_is_seeded_and_transform_matches(blobs):
    X, _ = blobs
    p = Projector(method="pca", seed=3)
    Y = p.fit_transform(X)
    assert Y.shape == (len(X), 2)
    np.testing.assert_allclose(Projector(method="pca", seed=3).fit_transform(X), Y, atol=1e-5)
    np.testing.assert_allclose(p.transform(X[:5]), Y[:5], atol=1e-5)


def test_projector_parameters_reach_the_kernel(blobs):
    X, _ = blobs
    assert Projector(method="tsne", perplexity=7.0).get_params()["perplexity"] == 7.0
    pca = Projector(method="pca", n_components=3, seed=3).fit(X)
    assert pca.pca_.n_components == 3 and pca.pca_.random_state == 3  # the fitted scikit-learn PCA got them
    assert pca.embedding_.shape == (len(X), 3)
    with pytest.raises(MMXError, match=r"method='mds': must be one of"):
        Projector(method="mds").fit_transform(np.ones((10, 3)))
    with pytest.raises(MMXError, match=r"n_neighbors=1: must be an integer >= 2"):
        Projector(n_neighbors=1).fit_transform(np.ones((10, 3)))


def test_raw_space_clusters_give_blobs_back(blobs):
    X, truth = blobs
    c = SubgenreClusterer(min_cluster_size=20, min_samples=5, selection="eom", space="raw").fit(X)
    assert c.n_clusters_ == 4
    assert adjusted_rand_score(truth, c.labels_) == pytest.approx(1.0)
    assert c.probabilities_.shape == (len(X),) and (c.probabilities_[c.labels_ >= 0] > 0).all()
    assert {"parent", "child", "lambda_val", "child_size"} <= set(c.condensed_tree_.columns)
    # Every selected cluster is a node of the hierarchy, and drilling in from the root covers everyone.
    assert sorted(c.hierarchy_.loc[c.hierarchy_["cluster"] >= 0, "cluster"]) == [0, 1, 2, 3]
    root = drill(c.condensed_tree_, c.hierarchy_, len(X), len(X))
    assert len(root) == len(X) and set(root["node"]) <= set(c.hierarchy_["node"]) | {-1}
    node0 = int(c.hierarchy_.loc[c.hierarchy_["cluster"] == 0, "node"].iloc[0])
    assert set(node_members(c.condensed_tree_, node0, len(X))) == set(np.flatnonzero(c.labels_ == 0))


def test_exact_neighbours_match_brute_force(blobs, rng):
    X = rng.random((500, 24)).astype(np.float32)
    truth_i, truth_s = brute_force(X, 10)
    idx, scores = NeighbourIndex(backend="exact").build(X).query(np.arange(len(X)), k=10)
    np.testing.assert_allclose(scores, truth_s, atol=1e-5)
    assert recall_at_k(idx, truth_i) > 0.999  # ties aside, the same sets
    assert not (idx == np.arange(len(X))[:, None]).any()  # a row is never its own neighbour
    # New vectors: nothing excluded, the query vector itself comes first.
    idx2, s2 = NeighbourIndex(backend="exact").build(X).query(X[:3] * 2.0, k=1)
    assert idx2[:, 0].tolist() == [0, 1, 2] and np.allclose(s2, 1.0, atol=1e-5)


def test_exact_topk_blocks_agree(rng):
    X = rng.random((300, 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    a = exact_topk(X, X, 5, block_size=7)
    b = exact_topk(X, X, 5, block_size=1000)
    np.testing.assert_array_equal(a[0], b[0])


def test_jaccard_of_a_space_with_itself_is_one(blobs):
    X, truth = blobs
    result = compare_spaces(X, X, np.arange(len(X)), k=5, clusters_a=truth, clusters_b=truth)
    assert result.summary["jaccard_mean"] == pytest.approx(1.0)
    assert result.summary["ari"] == pytest.approx(1.0)
    assert knn_jaccard(np.array([[1, 2, 3]]), np.array([[3, 4, 5]]))[0] == pytest.approx(1 / 5)


def test_procrustes_recovers_a_rotated_scaled_shifted_copy(rng):
    A = rng.normal(size=(200, 2))
    theta = 0.7
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    B = 3.0 * A @ R + np.array([5.0, -2.0])
    aligned, error = procrustes_align(A, B)
    assert error < 1e-6
    np.testing.assert_allclose(aligned, A, atol=1e-4)
    _, noisy = procrustes_align(A, rng.normal(size=(200, 2)))
    assert noisy > 0.5


def test_transitions_show_how_a_coarse_cluster_splits():
    coarse = np.array([0, 0, 0, 0, 1, 1])
    fine = np.array([2, 2, 3, 3, 4, -1])
    table = transition_table(coarse, fine)
    assert table[["cluster_a", "cluster_b", "count"]].values.tolist() == [[0, 2, 2], [0, 3, 2], [1, -1, 1], [1, 4, 1]]
    zero = table[table["cluster_a"] == 0].set_index("cluster_b")["count"].to_dict()
    assert zero == {2: 2, 3: 2}
    assert table["count"].sum() == 6
    assert np.allclose(table.groupby("cluster_a")["share_of_a"].sum(), 1.0)


def test_summary_names_genres_by_lift_not_count():
    # Drama tags everyone; Horror only cluster 0: lift must name Horror, not Drama.
    n = 40
    labels = np.repeat([0, 1], n // 2)
    genres = [["Drama", "Horror"] if l == 0 else ["Drama"] for l in labels]
    meta = pd.DataFrame({"id": [str(i) for i in range(n)], "genres": genres,
                         "year": [2000 + (i % 3) for i in range(n)],
                         "display_title": ["Night of the Dead" if l == 0 else f"Plain {i}"
                                           for i, l in enumerate(labels)]})
    X = np.eye(2, dtype=np.float32)[labels] + 0.01
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    probabilities = np.linspace(0.5, 1.0, n).astype(np.float32)
    summaries = summarise_clusters(labels, probabilities, X, meta["id"].to_numpy(), meta)
    zero = summaries[0]
    assert zero.genre_lift[0][0] == "Horror" and zero.genre_lift[0][1] == pytest.approx(2.0)
    assert all(g != "Drama" for g, _, _ in zero.genre_lift)  # lift 1.0: not over-represented
    assert zero.year_span == (2000, 2002)
    assert zero.typical_ids[0] == str(n // 2 - 1)  # highest membership first
    assert {"night", "dead"} <= set(zero.title_words)
    assert "Horror" in zero.label
    custom = summarise_clusters(labels, probabilities, X, meta["id"].to_numpy(), meta,
                                label_maker=lambda s: f"group {s.cluster}")
    assert custom[1].label == "group 1"


@pytest.mark.parametrize("bad, match", [
    (np.ones(5), r"2-D array.*reshape"),
    (np.array([[1.0, np.nan], [1.0, 2.0], [3.0, 1.0]]), r"NaN or Inf.*row 0"),
    (np.array([[1.0, 2.0], [np.inf, 2.0], [3.0, 1.0]]), r"NaN or Inf.*row 1"),
    (np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]]), r"all zeros.*cosine"),
])
def test_bad_vectors_are_named(bad, match):
    with pytest.raises(MMXError, match=match):
        Projector(method="pca").fit_transform(bad)


def test_too_few_points_are_named(blobs):
    X, _ = blobs
    with pytest.raises(MMXError, match=r"too few for t-SNE with perplexity 30.*lower perplexity"):
        Projector(method="tsne", perplexity=30).fit_transform(X[:50])
    with pytest.raises(MMXError, match=r"too few for clusters of at least min_cluster_size=100"):
        SubgenreClusterer(min_cluster_size=100, space="raw").fit(X[:60])


def test_bad_ids_are_named():
    from mmx_core.explore.checks import check_vectors

    X = np.ones((3, 2))
    with pytest.raises(MMXError, match=r"2 ids for 3 rows"):
        check_vectors(X, ids=np.array(["a", "b"]), source="x.npz")
    with pytest.raises(MMXError, match=r"occur more than once.*'a'"):
        check_vectors(X, ids=np.array(["a", "b", "a"]))


def test_the_memo_keeps_its_bound_when_threads_share_it():
    # the app's sessions are threads; a switch between reading and dropping the oldest entry used to raise
    # KeyError or "dictionary changed size during iteration" (every run of this test on the old code)
    import sys
    import threading

    from mmx_core.explore.reduction import memo

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    store, errors = {}, []

    def work(thread):
        try:
            for i in range(20_000):
                assert memo((thread, i), lambda: (thread, i), store=store, size=2) == (thread, i)
        except Exception as exc:  # noqa: BLE001 - any error of a thread fails the test below
            errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert errors == [] and len(store) <= 2
