"""Everything that needs umap-learn / pynndescent (numba compiles once for this module)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from mmx_core.explore import NeighbourIndex, Projector, SubgenreClusterer, pipeline
from mmx_core.explore.neighbours import recall_at_k

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
    table = pipeline.projection(emb, n_epochs=50)
    placed = pipeline.place(emb, emb.vectors[:4] * 1.01, n_epochs=50)
    own = table[["x", "y"]].to_numpy()[:4]
    spread = table[["x", "y"]].to_numpy().std()
    assert np.linalg.norm(placed - own, axis=1).max() < spread


def test_tsne_separates_blobs():
    X, labels = make_blobs(n_per=40, n_blobs=3, dim=16, seed=4)
    Y = Projector(method="tsne", perplexity=10, seed=0).fit_transform(X)
    assert map_purity(Y, labels) == pytest.approx(1.0)


def test_nndescent_recall_and_reload(tmp_path, rng):
    centres = np.abs(rng.normal(size=(30, 24)))
    X = (centres[rng.integers(30, size=3000)] + 0.3 * np.abs(rng.normal(size=(3000, 24)))).astype(np.float32)
    exact, _ = NeighbourIndex(backend="exact").build(X).query(np.arange(300), k=10)
    index = NeighbourIndex(backend="nndescent").build(X)
    approx, _ = index.query(np.arange(300), k=10)
    assert recall_at_k(approx, exact) >= 0.95
    reloaded = NeighbourIndex(backend="nndescent").load(index.save(tmp_path / "nnd.npz"), X)
    assert recall_at_k(reloaded.query(np.arange(300), k=10)[0], exact) >= 0.95


def test_cli_cluster_and_compare(tmp_path, capsys):
    import json

    import pandas as pd

    from mmx_core.cli import main
    from mmx_core.base.embeddings import save_embeddings

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
