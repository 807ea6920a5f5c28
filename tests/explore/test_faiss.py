"""faiss neighbour indexes, the size limits of large collections, and the shipped cache (no UMAP here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmx_core.base.errors import MMXError
from mmx_core.explore import NeighbourIndex, Projector, SubgenreClusterer
from mmx_core.explore import cached_clusters, cached_comparison, cached_map, cached_neighbours
from mmx_core.explore import faiss_index
from mmx_core.explore.compare import compare_spaces
from mmx_core.explore.exact_knn import knn_graph
from mmx_core.explore.neighbours import recall_at_k
from mmx_core.explore.scale import POLICY, ScalePolicy, cluster_plan, map_plan, parent_groups

from .conftest import blob_set, make_blobs


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """faiss follows torch's thread count; one thread is the fastest on the shared test machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clustered():
    """4,000 clustered non-negative vectors (like real embeddings) and their exact 10 neighbours."""
    rng = np.random.default_rng(0)
    centres = np.abs(rng.normal(size=(40, 32)))
    X = (centres[rng.integers(40, size=4000)] + 0.3 * np.abs(rng.normal(size=(4000, 32)))).astype(np.float32)
    exact, _ = NeighbourIndex(backend="exact").build(X).query(np.arange(len(X)), k=10)
    return X, exact


def test_auto_backend_by_size_dimension_and_memory():
    index = NeighbourIndex(exact_max=1000, memory_limit_mb=100, hnsw_max_dim=64)
    assert index.resolved_backend(1000, 1024) == "exact"
    assert index.resolved_backend(1001, 64) == "hnsw"  # low dimensions: graph index
    assert index.resolved_backend(1001, 1024) == "ivf"
    # 30,000 x 1024 float32 = 117 MiB > 100 MiB: product-quantised codes instead of full vectors
    assert index.resolved_backend(30_000, 1024) == "ivfpq"
    assert NeighbourIndex(backend="hnsw").resolved_backend(10, 4) == "hnsw"  # explicit wins
    defaults = NeighbourIndex()
    assert defaults.resolved_backend(7594, 1024) == "exact"  # the published set: exact, as before
    assert defaults.resolved_backend(1_000_000, 1024) == "ivf"
    assert defaults.resolved_backend(1_000_000, 256) == "ivf"
    assert defaults.resolved_backend(1_000_000, 50) == "hnsw"
    assert defaults.resolved_backend(3_000_000, 1024) == "ivfpq"


def test_built_index_is_the_chosen_faiss_type(clustered):
    X, _ = clustered
    for backend, kind in (("exact", "IndexFlat"), ("hnsw", "IndexHNSWFlat"), ("ivf", "IndexIVFFlat"),
                          ("ivfpq", "IndexIVFPQ")):
        index = NeighbourIndex(backend=backend, n_lists=20).build(X)
        assert index.backend_ == backend
        assert type(faiss_index.faiss_module().downcast_index(index._cpu_index)).__name__ == kind
    assert NeighbourIndex(backend="ivf", n_lists=20).build(X).n_lists_ == 20
    auto = NeighbourIndex(exact_max=1000, hnsw_max_dim=16).build(X)  # 4,000 x 32: above both limits
    assert auto.backend_ == "ivf"


@pytest.mark.parametrize("backend", ["hnsw", "ivf", "ivfpq"])
def test_recall_at_10_against_exact_search(clustered, backend):
    X, exact = clustered
    index = NeighbourIndex(backend=backend, n_lists=40, n_probe=8, pq_m=16).build(X)
    rows = np.arange(0, len(X), 10)
    found, scores = index.query(rows, k=10)
    assert recall_at_k(found, exact[rows]) >= 0.95
    assert not (found == rows[:, None]).any()  # a row is never its own neighbour
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # nearest first
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(scores[:, 0], (U[rows] * U[found[:, 0]]).sum(axis=1), atol=2e-3)


@pytest.mark.parametrize("backend", ["exact", "hnsw", "ivf", "ivfpq"])
def test_save_and_load_with_faiss_format_not_pickle(tmp_path, clustered, backend):
    X, _ = clustered
    index = NeighbourIndex(backend=backend, n_lists=20, n_probe=20, pq_m=8).build(X)
    path = index.save(tmp_path / f"{backend}.faiss")
    head = path.read_bytes()[:4]
    assert not head.startswith(b"\x80") and head[:4] in (b"IxFI", b"IHNf", b"IwFl", b"IwPQ")  # faiss fourccs
    again = NeighbourIndex(backend=backend, n_probe=20).load(path, X)
    assert again.backend_ == backend and again.n_samples_ == len(X)
    rows = np.arange(50)
    np.testing.assert_array_equal(again.query(rows, k=10)[0], index.query(rows, k=10)[0])
    with pytest.raises(MMXError, match=r"covers 4000 rows of 32 dimensions, not 3999 x 32; rebuild it"):
        NeighbourIndex().load(path, X[:-1])


def test_loading_a_damaged_index_is_named(tmp_path, clustered):
    X, _ = clustered
    bad = tmp_path / "bad.faiss"
    bad.write_bytes(b"not an index at all")
    with pytest.raises(MMXError, match=r"bad.faiss.*not a faiss index.*rebuild it"):
        NeighbourIndex().load(bad, X)


def test_query_by_vector_and_bad_queries(clustered):
    X, _ = clustered
    index = NeighbourIndex(backend="hnsw").build(X)
    idx, s = index.query(X[:3] * 2.0, k=1)
    assert idx[:, 0].tolist() == [0, 1, 2] and np.allclose(s, 1.0, atol=1e-4)
    with pytest.raises(MMXError, match=r"query vectors have 8 dimensions but the index has 32"):
        index.query(np.ones((1, 8)), k=1)
    with pytest.raises(MMXError, match=r"row 4000 is out of range"):
        index.query(np.array([4000]), k=1)
    with pytest.raises(MMXError, match=r"backend='annoy': must be one of"):
        NeighbourIndex(backend="annoy").build(X)
    with pytest.raises(MMXError, match=r"device='tpu': must be one of"):
        NeighbourIndex(device="tpu").validate()


def test_faiss_knn_graph_matches_the_exact_graph(clustered):
    X, _ = clustered
    Z = X[:1500]
    exact_i, exact_d = knn_graph(Z, 15)
    approx_i, approx_d = faiss_index.knn_graph(Z, 15, kind="hnsw")
    assert (approx_i[:, 0] == np.arange(len(Z))).all() and (approx_d[:, 0] == 0).all()  # umap-learn's layout
    assert recall_at_k(approx_i, exact_i) >= 0.95
    both = approx_i == exact_i
    np.testing.assert_allclose(approx_d[both], exact_d[both], rtol=1e-3, atol=1e-4)


def test_comparison_through_an_approximate_index(clustered):
    X, _ = clustered
    result = compare_spaces(X, X, np.arange(len(X)), k=10, backend="hnsw")
    assert result.summary["jaccard_mean"] >= 0.95
    shifted = X + 0.2 * np.random.default_rng(1).random(X.shape).astype(np.float32)
    moved = compare_spaces(X, shifted, np.arange(len(X)), k=10, backend="ivf", n_movers=7)
    assert moved.summary["jaccard_mean"] < result.summary["jaccard_mean"]
    assert moved.movers["jaccard"].tolist() == sorted(moved.table["jaccard"])[:7]


def test_min_cluster_size_grows_with_the_square_root_of_n():
    policy = ScalePolicy()
    assert policy.min_cluster_size(40, 7594) == 40  # the published set: as given
    assert policy.min_cluster_size(40, policy.mcs_reference) == 40
    assert policy.min_cluster_size(40, 4 * policy.mcs_reference) == 80
    assert policy.min_cluster_size(40, 100 * policy.mcs_reference) == 400
    assert policy.min_cluster_size(15, 1_000_000) == round(15 * (1_000_000 / policy.mcs_reference) ** 0.5)
    with pytest.raises(MMXError, match=r"fit_sample=500: must be an integer in \[2, 100\]"):
        ScalePolicy(sample_fit_above=100, fit_sample=500).validate()


def test_plans_are_none_below_the_limits_and_say_what_changes_above():
    p = Projector()
    assert map_plan(7594, "umap", p.exact_knn_max, 0) is None
    assert map_plan(10_000_000, "pca", p.exact_knn_max, 0) is None
    plan = map_plan(1_000_000, "umap", p.exact_knn_max, 0)
    assert plan["fit"] == "sample+transform" and plan["fit_rows"] == POLICY.fit_sample and plan["knn"] == "exact"
    plan = map_plan(150, "umap", 100, 3, ScalePolicy(sample_fit_above=1000, fit_sample=500))
    assert plan["fit"] == "all" and plan["knn"] == "faiss-hnsw"
    c = SubgenreClusterer()
    assert cluster_plan(7594, "umap10", c.min_cluster_size, p.exact_knn_max, 0) is None
    plan = cluster_plan(80_000, "umap10", c.min_cluster_size, p.exact_knn_max, 0)
    assert plan["min_cluster_size"] == 80 and plan["reduction"] is None


def nested_tree():
    """A hand-made hierarchy: root 100 -> A(101), B(102); A -> 103, 104; B -> 105, 106, 107 (leaves selected)."""
    return pd.DataFrame({
        "node": [100, 101, 102, 103, 104, 105, 106, 107],
        "parent": [-1, 100, 100, 101, 101, 102, 102, 102],
        "size": [100, 40, 60, 20, 20, 25, 20, 15],
        "cluster": [-1, -1, -1, 0, 1, 2, 3, 4],
    })


def test_parent_groups_cut_the_tree_into_readable_parents():
    two = parent_groups(nested_tree(), max_parents=2)
    assert dict(zip(two["cluster"], two["parent"])) == {0: 1, 1: 1, 2: 0, 3: 0, 4: 0}  # B is the larger parent
    assert two.loc[two["cluster"] == 2, "parent_size"].item() == 60
    # Room for four parents: B (most clusters) splits first, at the split closest to equal trailers, then A.
    four = parent_groups(nested_tree(), max_parents=4)
    assert four.groupby("parent")["cluster"].apply(list).tolist() == [[3, 4], [2], [0], [1]]  # most trailers first
    assert four.loc[four["cluster"] == 3, "parent_node"].item() == 102
    assert four.loc[four["cluster"] == 3, "parent_size"].item() == 35
    everyone = parent_groups(nested_tree(), max_parents=30)
    assert sorted(everyone["parent_node"]) == [103, 104, 105, 106, 107]


def chain_tree(n_clusters=60):
    """A tree that peels one cluster off a chain at each level: node 1000 + 2i is the chain, 1001 + 2i cluster i."""
    nodes, parents, clusters = [1000], [-1], [-1]
    for i in range(n_clusters - 1):
        nodes += [1001 + 2 * i, 1002 + 2 * i]
        parents += [1000 + 2 * i] * 2
        clusters += [i, -1 if i < n_clusters - 2 else n_clusters - 1]
    return pd.DataFrame({"node": nodes, "parent": parents, "size": [50] * len(nodes), "cluster": clusters})


def test_parents_of_a_chain_are_stretches_of_similar_numbers_of_clusters():
    table = parent_groups(chain_tree(60), max_parents=6)
    counts = table.groupby("parent")["cluster"].count()
    assert len(counts) == 6 and counts.min() >= 5 and counts.max() <= 15   # cutting at the top gave 1 x 5 + 55
    for _, run in table.groupby("parent")["cluster"]:
        assert sorted(run) == list(range(min(run), max(run) + 1))            # each group: a stretch of the chain


def test_parents_of_many_clusters_stay_few(rng):
    X, truth = make_blobs(n_per=30, n_blobs=16, dim=64, spread=0.02, seed=3)
    c = SubgenreClusterer(min_cluster_size=5, min_samples=3, space="raw").fit(X)
    table = c.parents(max_parents=4)
    assert len(table) == c.n_clusters_ >= 16
    assert 2 <= table["parent"].nunique() <= 4
    assert set(table["cluster"]) == set(range(c.n_clusters_))


def test_the_shipped_cache_is_still_hit(monkeypatch, tmp_path):
    """The published set and the shipped coarse/fine sets read assets/cache: same keys, nothing recomputed."""
    from mmx_core.trailers.published import load_published, published_metadata
    from mmx_core.trailers.embeddings import load_embeddings
    from mmx_core.base.paths import MODELS_DIR, cache_dir, shipped_cache_dir

    monkeypatch.setenv("MMX_CACHE_DIR", str(tmp_path / "empty-cache"))
    cached_neighbours.clear_memory_caches()

    def recomputed(*args, **kwargs):
        raise AssertionError("recomputed: the shipped cache key changed")

    monkeypatch.setattr(Projector, "fit_transform", recomputed)
    monkeypatch.setattr(SubgenreClusterer, "fit", recomputed)
    published = load_published()
    coarse = load_embeddings(MODELS_DIR / "coarse_embeddings.npz", metadata=published_metadata(),
                             name="coarse_embeddings")
    fine = load_embeddings(MODELS_DIR / "fine_embeddings.npz", metadata=published_metadata(),
                           name="fine_embeddings")
    shipped = shipped_cache_dir().resolve()
    for emb_set in (published, coarse, fine):
        for method in Projector.METHODS:
            assert cached_map.projection_path(emb_set, method=method).resolve().parent.parent == shipped
        assert cached_clusters.clusters(emb_set).path.resolve().parent.parent == shipped
    result = cached_comparison.comparison(coarse, fine)
    assert result.summary["n"] == len(coarse)
    assert not cache_dir().exists() or not any(cache_dir().rglob("*.parquet"))


def test_generate_embeddings_command(tmp_path, capsys):
    import json

    from mmx_core.trailers.embeddings import load_embeddings
    from mmx_core.cli import main

    out = tmp_path / "big.npz"
    assert main(["generate-embeddings", "--n", "500", "--dim", "64", "--seed", "3", "--out", str(out),
                 "--metadata-out", str(tmp_path / "trailers.parquet")]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 500
    emb = load_embeddings(out, metadata=tmp_path / "trailers.parquet")
    assert emb.vectors.shape == (500, 64) and (emb.vectors >= 0).all() and emb.vectors.any(axis=1).all()
    assert emb.metadata["genres"].map(len).gt(0).mean() > 0.9  # genres borrowed from the published rows
    again = tmp_path / "again.npz"
    assert main(["generate-embeddings", "--n", "500", "--dim", "64", "--seed", "3", "--out", str(again)]) == 0
    np.testing.assert_array_equal(load_embeddings(again).vectors, emb.vectors)  # same seed, same vectors
    assert main(["generate-embeddings", "--n", "5", "--out", str(tmp_path / "x.csv")]) == 2
    assert "must end in .npz" in capsys.readouterr().err


def test_generate_embeddings_keeps_a_named_set_for_the_app(capsys):
    import json

    from mmx_core import workspace
    from mmx_core.cli import main

    assert main(["generate-embeddings", "--n", "300", "--dim", "32", "--seed", "4", "--name", "gen-300"]) == 0
    assert json.loads(capsys.readouterr().out)["set"] == "upload:gen-300"
    emb = workspace.load_set("upload:gen-300")
    assert emb.vectors.shape == (300, 32) and workspace.set_info("upload:gen-300").generated
    assert emb.metadata["display_title"].str.contains("generated").all()   # its own table, not the published one
    before = (workspace.uploads_dir() / "gen-300" / "embeddings.npz").read_bytes()
    assert main(["generate-embeddings", "--n", "5", "--dim", "32", "--name", "gen-300"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (workspace.uploads_dir() / "gen-300" / "embeddings.npz").read_bytes() == before


def test_a_second_writer_of_a_generated_set_is_refused_and_the_first_set_is_whole(capsys):
    from mmx_core import workspace
    from mmx_core.base.locks import folder_lock
    from mmx_core.cli import main

    with folder_lock(workspace.uploads_dir() / "gen-busy", "test holder"):   # another process writing it
        assert main(["generate-embeddings", "--n", "50", "--dim", "8", "--name", "gen-busy"]) == 2
    assert "being written by another process" in capsys.readouterr().err
    assert "upload:gen-busy" not in [s.name for s in workspace.list_sets()]
    assert main(["generate-embeddings", "--n", "50", "--dim", "8", "--name", "gen-busy"]) == 0
    assert len(workspace.load_set("upload:gen-busy")) == 50


def test_a_saved_index_is_keyed_by_what_it_was_built_with_not_how_it_is_searched():
    from mmx_core.base.paths import cache_dir

    emb = blob_set(n_per=100, dim=16, seed=2)
    cached_neighbours.clear_memory_caches()
    first = cached_neighbours.neighbour_index(emb, backend="ivf", n_lists=4)
    files = sorted((cache_dir() / "neighbour_index").glob("*.faiss"))
    cached_neighbours.clear_memory_caches()
    searched = cached_neighbours.neighbour_index(emb, backend="ivf", n_lists=4, n_probe=2, rerank=3)
    assert sorted((cache_dir() / "neighbour_index").glob("*.faiss")) == files and len(files) == 1
    assert searched.n_probe == 2 and first.n_probe == NeighbourIndex().n_probe
    cached_neighbours.neighbour_index(emb, backend="ivf", n_lists=5)  # built differently: a second file
    assert len(list((cache_dir() / "neighbour_index").glob("*.faiss"))) == 2
