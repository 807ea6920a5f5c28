"""CPU and cuML backends of maps and sub-genres, and faiss on the GPU: the rule, the keys, the JSON, the CLI.

The tests of the cuML and faiss GPU paths run only where cuML (or a GPU build of faiss) and a GPU are
present; everything else runs everywhere.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmx_core.base.artefacts import array_hash, params_key, read_json
from mmx_core.base.devices import cuda_available
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.cli import build_parser, main
from mmx_core.explore import Projector, SubgenreClusterer, faiss_index
from mmx_core.explore import cached_clusters, cached_map
from mmx_core.explore.backends import (BACKENDS, CUML_INSTALL, DEFAULT_BACKEND, cache_params, choose_backend,
                                       cuml_problem, pca_layout, plan_for_backend, resolve_backend)
from mmx_core.explore.clustering import node_members
from mmx_core.explore.neighbours import NeighbourIndex

from .conftest import blob_set, make_blobs

CUML_PROBLEM = cuml_problem()
NO_CUML = pytest.mark.skipif(CUML_PROBLEM is None, reason="cuML and a GPU are present: nothing is refused here")
NEEDS_CUML = pytest.mark.skipif(CUML_PROBLEM is not None, reason=f"needs cuML and a CUDA GPU: {CUML_PROBLEM}")
FAISS_GPU = faiss_index.gpu_ready() and cuda_available()


# -- the rule -----------------------------------------------------------------------------------

def test_the_rule_auto_takes_cuml_only_when_nothing_stands_in_its_way():
    assert choose_backend("auto", None) == "cuml"
    assert choose_backend("auto", "cuML is not installed") == "cpu"
    assert choose_backend("cpu", None) == "cpu"
    assert choose_backend("cpu", "cuML is not installed") == "cpu"
    assert choose_backend("cuml", None) == "cuml"
    with pytest.raises(MMXError, match=r"backend='cuml' but cuML is not installed on this machine; install it "
                                       r"with `pip install cuml-cu12==\S+` and a CUDA build of torch"):
        choose_backend("cuml", "cuML is not installed")
    with pytest.raises(MMXError, match=r"backend='gpu' is not one of \['auto', 'cpu', 'cuml'\]"):
        choose_backend("gpu", None)
    assert BACKENDS == ("auto", "cpu", "cuml") and DEFAULT_BACKEND == "auto"
    assert Projector.defaults()["backend"] == SubgenreClusterer.defaults()["backend"] == DEFAULT_BACKEND


def test_this_machine_resolves_by_the_rule():
    assert resolve_backend("cpu") == "cpu"
    assert resolve_backend("auto") == choose_backend("auto", CUML_PROBLEM)
    # t-SNE and PCA have no cuML path, whatever the choice
    assert Projector(method="tsne").resolved_backend() == Projector(method="pca").resolved_backend() == "cpu"


@NO_CUML
def test_auto_is_the_cpu_here():
    assert resolve_backend("auto") == "cpu"
    assert Projector().resolved_backend() == SubgenreClusterer().resolved_backend() == "cpu"


@NO_CUML
@pytest.mark.parametrize("estimator", [Projector, SubgenreClusterer])
def test_cuml_is_refused_here_in_one_line_naming_the_install(estimator):
    with pytest.raises(MMXError) as caught:
        estimator(backend="cuml").validate()
    message = str(caught.value)
    assert "\n" not in message and CUML_INSTALL in message and CUML_PROBLEM in message
    assert message.startswith("backend='cuml' but ")


# -- cache keys and the parameter JSON ------------------------------------------------------------

def test_cpu_keys_are_the_keys_of_before_and_cuml_keys_differ():
    params = Projector().get_params()
    before = {name: value for name, value in params.items() if name != "backend"}  # the parameters of old
    assert cache_params(params, "cpu") == before
    assert cache_params({**params, "backend": "cpu"}, "cpu") == before
    assert cache_params(params, "cuml") == {**before, "backend": "cuml"}
    plan = {"fit": "all", "fit_rows": 300_000, "knn": "faiss-hnsw", "policy": {}}
    assert plan_for_backend(plan, "cpu") is plan
    assert plan_for_backend(plan, "cuml")["knn"] == "cuml-exact" and plan["knn"] == "faiss-hnsw"
    nested = plan_for_backend({"min_cluster_size": 40, "reduction": plan}, "cuml")
    assert nested["reduction"]["knn"] == "cuml-exact"


def test_a_cpu_map_keeps_its_old_key_and_its_json_names_the_backend():
    emb = blob_set(seed=21)
    inputs = {"embeddings": emb.content_hash}
    for method in ("pca", "umap"):
        old_params = {k: v for k, v in Projector(method=method, n_epochs=20).get_params().items() if k != "backend"}
        old_key = params_key("projection", old_params, inputs)
        paths = {cached_map.projection_path(emb, method=method, n_epochs=20, backend=b) for b in ("auto", "cpu")}
        assert len(paths) == 1
        path = paths.pop()
        assert path.name == f"{old_key}.parquet"
        record = read_json(path.with_name(path.name + ".json"))
        assert record["backend"] == "cpu" and "backend" not in record["params"] and record["key"] == old_key


def test_cpu_clusters_keep_their_old_key_and_name_each_step():
    emb = blob_set(seed=22)
    params = {"min_cluster_size": 20, "space": "raw", "selection": "eom", "min_samples": 5}
    old_params = {k: v for k, v in SubgenreClusterer(**params).get_params().items() if k != "backend"}
    result = cached_clusters.clusters(emb, backend="auto", **params)
    assert result.path.name == f"{params_key('clusters', old_params, {'embeddings': emb.content_hash})}.parquet"
    assert cached_clusters.clusters(emb, backend="cpu", **params).path == result.path
    record = read_json(result.path.with_name(result.path.name + ".json"))
    assert record["backend"] == "cpu" and "backend" not in record["params"]
    assert record["backend_steps"] == {"reduction": None, "hdbscan": "cpu"}
    assert result.n_clusters == 4


def test_the_clusterer_records_the_backend_of_each_step(blobs):
    X, truth = blobs
    model = SubgenreClusterer(min_cluster_size=20, min_samples=5, n_epochs=20, backend="cpu").fit(X)
    assert model.backend_ == "cpu" and model.backends_ == {"reduction": "cpu", "hdbscan": "cpu"}
    assert model.n_clusters_ == 4


# -- faiss on the GPU -----------------------------------------------------------------------------

def test_neighbour_index_and_knn_graph_say_where_they_search(blobs):
    X, _ = blobs
    index = NeighbourIndex(backend="ivf", n_lists=4, device="auto").build(X)
    assert index.device_ == ("cuda" if FAISS_GPU else "cpu")
    assert NeighbourIndex(backend="hnsw", device="auto").build(X).device_ == "cpu"  # HNSW stays on the CPU
    assert NeighbourIndex(backend="exact", device="cpu").build(X).device_ == "cpu"
    Z = np.ascontiguousarray(X[:, :16])
    auto = faiss_index.knn_graph(Z, 10, kind="exact", device="auto")
    cpu = faiss_index.knn_graph(Z, 10, kind="exact", device="cpu")
    assert (auto[0][:, 0] == np.arange(len(Z))).all()
    assert [set(r) for r in auto[0]] == [set(r) for r in cpu[0]]
    np.testing.assert_allclose(np.sort(auto[1], axis=1), np.sort(cpu[1], axis=1), atol=1e-4)


@pytest.mark.skipif(not FAISS_GPU, reason="needs a GPU build of faiss (faiss-gpu-cu12) and a CUDA GPU")
def test_faiss_searches_on_the_gpu_with_the_cpu_results(blobs):  # pragma: no cover - needs a GPU
    X, _ = blobs
    gpu = NeighbourIndex(backend="exact", device="cuda").build(X)
    cpu = NeighbourIndex(backend="exact", device="cpu").build(X)
    assert gpu.device_ == "cuda" and type(gpu._index).__name__.startswith("Gpu")
    rows_g, scores_g = gpu.query(np.arange(20), k=5)
    rows_c, scores_c = cpu.query(np.arange(20), k=5)
    assert [set(r) for r in rows_g] == [set(r) for r in rows_c]
    np.testing.assert_allclose(scores_g, scores_c, atol=1e-4)


# -- the CLI ----------------------------------------------------------------------------------------

def test_every_command_that_builds_maps_or_clusters_has_the_one_backend_option():
    parser = build_parser()
    for argv in (["project", "--embeddings", "e.npz", "--out", "m.parquet"],
                 ["cluster", "--embeddings", "e.npz", "--out", "c.parquet"],
                 ["compare", "--a", "coarse", "--b", "fine"], ["precompute"]):
        assert parser.parse_args(argv).backend == DEFAULT_BACKEND
        assert parser.parse_args([*argv, "--backend", "cpu"]).backend == "cpu"


def test_cli_writes_the_backend_and_refuses_an_unknown_one(tmp_path, capsys):
    emb = blob_set(seed=23)
    save_embeddings(tmp_path / "e.npz", emb.ids, emb.vectors)
    emb.metadata.to_parquet(tmp_path / "trailers.parquet", index=False)
    out = tmp_path / "c.parquet"
    assert main(["cluster", "--embeddings", str(tmp_path / "e.npz"), "--space", "raw", "--min-cluster-size", "20",
                 "--backend", "cpu", "--out", str(out)]) == 0
    record = json.loads(out.with_name("c.parquet.json").read_text())
    assert record["backend"] == "cpu" and record["n_clusters"] >= 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["project", "--embeddings", str(tmp_path / "e.npz"), "--backend", "gpu", "--out", str(out)])
    assert stop.value.code == 2 and "--backend" in capsys.readouterr().err


@NO_CUML
@pytest.mark.parametrize("command", [["project", "--method", "pca"], ["cluster", "--space", "raw"]])
def test_cli_refuses_cuml_here_in_one_line(command, tmp_path, capsys):
    emb = blob_set(seed=24)
    save_embeddings(tmp_path / "e.npz", emb.ids, emb.vectors)
    argv = [command[0], "--embeddings", str(tmp_path / "e.npz"), *command[1:], "--backend", "cuml",
            "--out", str(tmp_path / "x.parquet")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and CUML_INSTALL in err and "Traceback" not in err
    assert not (tmp_path / "x.parquet").exists()


@NO_CUML
def test_precompute_refuses_cuml_before_computing_anything(tmp_path, capsys):
    assert main(["precompute", "--out", str(tmp_path / "cache"), "--backend", "cuml", "--skip-models"]) == 2
    assert CUML_INSTALL in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()


def test_the_docs_install_what_the_refusal_names():
    from mmx_core.base.paths import PROJECT_ROOT

    gpu = (PROJECT_ROOT / "docs" / "scale.md").read_text().split("\n## GPU\n", 1)[1]
    assert f"`{CUML_INSTALL}`" in gpu and "faiss-gpu-cu12" in gpu


# -- the real cuML path ---------------------------------------------------------------------------

def test_the_pca_start_of_a_cuml_map_is_scaled_and_seeded():
    X, _ = make_blobs(n_per=50, dim=16)
    a, b = pca_layout(X, 2, seed=3), pca_layout(X, 2, seed=3)
    assert a.shape == (200, 2) and a.dtype == np.float32
    assert np.array_equal(a, b) and abs(float(np.abs(a).max()) - 10.0) < 1e-2
    assert not np.array_equal(a, pca_layout(X, 2, seed=4))


@NEEDS_CUML
def test_cuml_maps_and_clusters_match_the_cpu_interface(blobs):  # pragma: no cover - needs cuML and a GPU
    X, truth = blobs
    projector = Projector(backend="cuml", n_epochs=100)
    Y = projector.fit_transform(X)
    assert projector.backend_ == "cuml" and Y.shape == (len(X), 2) and Y.dtype == np.float32
    model = SubgenreClusterer(min_cluster_size=20, min_samples=5, backend="cuml").fit(X)
    assert model.backends_["reduction"] == "cuml" and model.labels_.dtype == np.int64
    assert model.probabilities_.dtype == np.float32 and model.probabilities_.shape == (len(X),)
    assert list(model.condensed_tree_.columns) == ["parent", "child", "lambda_val", "child_size"]
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, model.labels_) > 0.9
    assert set(model.hierarchy_["cluster"]) >= set(range(model.n_clusters_))
    assert len(model.parents(max_parents=2)) == model.n_clusters_
    assert len(node_members(model.condensed_tree_, len(X), len(X))) == len(X)


@NEEDS_CUML
def test_cuml_artefacts_have_their_own_key_and_name_the_backend():  # pragma: no cover - needs cuML and a GPU
    emb = blob_set(seed=25)
    gpu = cached_map.projection_path(emb, backend="cuml", n_epochs=50)
    cpu = cached_map.projection_path(emb, backend="cpu", n_epochs=50)
    assert gpu != cpu and cached_map.projection_path(emb, backend="auto", n_epochs=50) == gpu
    record = read_json(gpu.with_name(gpu.name + ".json"))
    assert record["backend"] == record["params"]["backend"] == "cuml" and record["cuml_version"]
    result = cached_clusters.clusters(emb, min_cluster_size=20, backend="cuml")
    assert read_json(result.path.with_name(result.path.name + ".json"))["params"]["backend"] == "cuml"
    assert array_hash(result.table["cluster"].to_numpy()) == array_hash(
        cached_clusters.clusters(emb, min_cluster_size=20, backend="cuml").table["cluster"].to_numpy())
