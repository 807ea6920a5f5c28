"""Everything that needs umap-learn (numba compiles once for this module)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from mmx_core.explore import Projector, SubgenreClusterer

from mmx_core.explore import cached_clusters, cached_map

from .conftest import blob_set, make_blobs


def map_purity(Y, labels, k=5):
    """Share of each point's k nearest map neighbours from its own blob."""
    d = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    return float((labels[nn] == labels[:, None]).mean())


@pytest.fixture(scope="module")
def fitted():
    X, labels = make_blobs(n_per=50, n_blobs=4, dim=64, seed=1)
    projector = Projector(method="umap", seed=0, n_epochs=100)
    return X, labels, projector, projector.fit_transform(X)


def test_umap_map_keeps_blobs_apart_and_is_repeatable(fitted):
    X, labels, projector, Y = fitted
    assert Y.shape == (len(X), 2)
    assert map_purity(Y, labels) == pytest.approx(1.0)
    again = Projector(method="umap", seed=0, n_epochs=100).fit_transform(X)
    np.testing.assert_array_equal(again, Y)


def test_umap_transform_places_new_points_with_their_blob(fitted):
    X, labels, projector, Y = fitted
    new, new_labels = make_blobs(n_per=3, n_blobs=4, dim=64, seed=2)
    placed = projector.transform(new)
    centres = np.stack([Y[labels == b].mean(axis=0) for b in range(4)])
    nearest = ((placed[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    np.testing.assert_array_equal(nearest, new_labels)


def test_umap10_clusters_give_blobs_back(fitted):
    X, labels, _, _ = fitted
    c = SubgenreClusterer(min_cluster_size=15, min_samples=5, selection="eom", n_neighbors=10).fit(X)
    assert c.reduced_.shape == (len(X), 10)
    assert adjusted_rand_score(labels, c.labels_) == pytest.approx(1.0)


def test_pipeline_place_into_cached_map():
    emb = blob_set(n_per=40, dim=64, seed=3)
    table = cached_map.projection(emb, n_epochs=50)
    placed = cached_map.place(emb, emb.vectors[:4] * 1.01, n_epochs=50)
    own = table[["x", "y"]].to_numpy()[:4]
    spread = table[["x", "y"]].to_numpy().std()
    assert np.linalg.norm(placed - own, axis=1).max() < spread


def test_tsne_separates_blobs():
    X, labels = make_blobs(n_per=40, n_blobs=3, dim=16, seed=4)
    Y = Projector(method="tsne", perplexity=10, seed=0).fit_transform(X)
    assert map_purity(Y, labels) == pytest.approx(1.0)


def test_cli_cluster_and_compare(tmp_path, capsys):
    import json

    import pandas as pd

    from mmx_core.cli import main
    from mmx_core.trailers.embeddings import save_embeddings

    emb = blob_set(n_per=60, dim=64, seed=5)
    save_embeddings(tmp_path / "a.npz", emb.ids, emb.vectors)
    noisy = emb.vectors + 0.01 * np.random.default_rng(0).random(emb.vectors.shape).astype(np.float32)
    save_embeddings(tmp_path / "b.npz", emb.ids[2:], noisy[2:])
    emb.metadata.to_parquet(tmp_path / "trailers.parquet", index=False)

    out = tmp_path / "clusters.parquet"
    assert main(["cluster", "--embeddings", str(tmp_path / "a.npz"), "--min-cluster-size", "30", "--selection", "eom",
                 "--out", str(out)]) == 0
    assert list(pd.read_parquet(out).columns) == ["id", "cluster", "probability"]
    beside = json.loads(out.with_name("clusters.parquet.json").read_text())
    assert beside["n_clusters"] == 4 and len(beside["summaries"]) == 4
    capsys.readouterr()

    table = tmp_path / "cmp.parquet"
    assert main(["compare", "--a", str(tmp_path / "a.npz"), "--b", str(tmp_path / "b.npz"), "-k", "5", "--json",
                 "--out", str(table)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert set(summary) == {"n", "k", "jaccard_mean", "jaccard_median", "n_clusters_a", "n_clusters_b", "ari"}
    assert summary["n"] == len(emb) - 2 and summary["k"] == 5
    assert "2 ids only in" in captured.err
    assert list(pd.read_parquet(table).columns) == ["id", "jaccard", "cluster_a", "cluster_b"]


# -- large collections: faiss kNN graph, sampled fit + transform (small limits on small data) ----------

SMALL_LIMITS = dict(sample_fit_above=120, fit_sample=100, mcs_reference=100)


def test_faiss_knn_graph_path_above_the_exact_limit(fitted):
    from mmx_core.explore.exact_knn import knn_graph
    from mmx_core.explore.neighbours import recall_at_k

    X, labels, _, _ = fitted
    projector = Projector(method="umap", seed=0, n_epochs=100, exact_knn_max=50)
    Y = projector.fit_transform(X)
    assert projector.plan_["knn"] == "faiss-hnsw" and projector.plan_["fit"] == "all"
    assert recall_at_k(projector.knn_[0], knn_graph(projector.reduced_, 15)[0]) >= 0.95
    assert map_purity(Y, labels) == pytest.approx(1.0)


def test_sampled_fit_places_the_other_rows_with_their_blob(fitted):
    from mmx_core.explore.scale import ScalePolicy, sample_rows

    X, labels, _, _ = fitted
    policy = ScalePolicy(**SMALL_LIMITS)
    projector = Projector(method="umap", seed=0, n_epochs=100)
    Y = projector.fit_transform(X, scale=policy)
    assert projector.plan_["fit"] == "sample+transform" and projector.plan_["fit_rows"] == 100
    fit_rows = sample_rows(len(X), 100, 0)
    placed = np.setdiff1d(np.arange(len(X)), fit_rows)
    centres = np.stack([Y[fit_rows][labels[fit_rows] == b].mean(axis=0) for b in range(4)])
    nearest = ((Y[placed][:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
    np.testing.assert_array_equal(nearest, labels[placed])  # every placed row lands with its blob
    # The sampled rows' map is UMAP's own fit of the (reduced) sample: same seed, same neighbours.
    alone = Projector(method="umap", seed=0, n_epochs=100, metric="euclidean", pca_dims=None).fit_transform(
        projector.reduced_[fit_rows])
    np.testing.assert_allclose(Y[fit_rows], alone, atol=1e-5)


def test_pipeline_records_the_plan_above_the_limits_only():
    import json

    from mmx_core.explore.scale import ScalePolicy

    emb = blob_set(n_per=50, dim=64, seed=8)
    small = cached_map.projection_path(emb, n_epochs=50)
    assert "scale" not in json.loads(small.with_name(small.name + ".json").read_text())["params"]
    big = cached_map.projection_path(emb, n_epochs=50, scale=ScalePolicy(**SMALL_LIMITS))
    assert big != small
    record = json.loads(big.with_name(big.name + ".json").read_text())
    assert record["params"]["scale"]["fit"] == "sample+transform" and record["params"]["scale"]["fit_rows"] == 100
    result = cached_clusters.clusters(emb, min_cluster_size=20, min_samples=5, selection="eom", n_neighbors=10,
                                      scale=ScalePolicy(**SMALL_LIMITS))
    assert result.params["scale"]["min_cluster_size"] == round(20 * (200 / 100) ** 0.5)
    assert result.params["scale"]["reduction"]["fit"] == "sample+transform"
    assert result.n_clusters == 4
    parents, summaries = result.parents(emb, max_parents=2)
    assert len(parents) == 4 and parents["parent"].nunique() == 2 and len(summaries) == 2


def test_parent_summaries_are_computed_once_and_read_back(monkeypatch, tmp_path):
    from mmx_core.explore.scale import ScalePolicy

    monkeypatch.setenv("MMX_CACHE_DIR", str(tmp_path))

    def saved():  # the summaries' files, not the .json.json records beside them
        return sorted((tmp_path / "parent_summaries").glob("*[0-9a-f].json"))

    emb = blob_set(n_per=50, dim=64, seed=8)
    result = cached_clusters.clusters(emb, min_cluster_size=20, min_samples=5, selection="eom", n_neighbors=10,
                                      scale=ScalePolicy(**SMALL_LIMITS))
    table, first = result.parents(emb, max_parents=2)
    files = saved()
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = result.parents(emb, max_parents=2)[1]
    assert [s.to_dict() for s in again] == [s.to_dict() for s in first] and files[0].stat().st_mtime_ns == stamp
    sizes = table.groupby("parent")["parent_size"].first().sort_index().tolist()
    assert [s.size for s in first] == sizes       # a parent's summary counts the trailers of its clusters
    result.parents(emb, max_parents=3)             # another cut: its own summaries
    assert len(saved()) == 2
