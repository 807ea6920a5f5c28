"""Cached pipeline steps and the CLI on tiny sets (PCA / raw space: no UMAP compile here)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmx_core.cli import main
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.explore import Projector
from mmx_core.explore import cached_clusters, cached_comparison, cached_map, cached_neighbours

from .conftest import blob_set


def test_cache_hit_returns_the_same_file_without_recomputing(monkeypatch):
    emb = blob_set(seed=11)
    first = cached_map.projection_path(emb, method="pca")
    assert first.exists() and first.with_name(first.name + ".json").exists()

    def boom(*args, **kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(Projector, "fit_transform", boom)
    assert cached_map.projection_path(emb, method="pca") == first
    table = cached_map.projection(emb, method="pca")
    assert list(table.columns) == ["id", "x", "y"] and table["id"].tolist() == emb.ids.tolist()
    with pytest.raises(AssertionError, match="recomputed"):  # another parameter is another artefact
        cached_map.projection(emb, method="pca", seed=1)


def test_cluster_step_with_summaries_and_drill_down():
    emb = blob_set(seed=12)
    result = cached_clusters.clusters(emb, min_cluster_size=20, space="raw", selection="eom", min_samples=5)
    assert result.n_clusters == 4 and result.noise_share == 0.0
    assert list(result.table.columns) == ["id", "cluster", "probability"]
    labels = " ".join(s.label for s in result.summaries)
    assert "Horror" in labels and "War" in labels
    again = cached_clusters.clusters(emb, min_cluster_size=20, space="raw", selection="eom", min_samples=5)
    assert again.path == result.path
    drill = result.sub_clusters(len(emb))
    assert set(drill["id"]) == set(emb.ids)


def test_neighbours_exclude_the_query_and_share_genres():
    emb = blob_set(seed=13)
    table = cached_neighbours.neighbours(emb, "t0000", k=5)
    assert list(table.columns) == ["id", "score", "shared_genres"]
    assert "t0000" not in set(table["id"])
    assert (np.diff(table["score"]) <= 1e-7).all()
    assert all(g == ["Horror", "Thriller"] for g in table["shared_genres"])  # same blob
    with pytest.raises(MMXError, match="unknown trailer id 'nope'"):
        cached_neighbours.neighbours(emb, "nope")


def test_comparison_reports_ids_in_only_one_set():
    a = blob_set(seed=14, name="a")
    b = a.subset(np.arange(3, len(a)))
    b.name = "b"
    params = {"min_cluster_size": 20, "space": "raw", "selection": "eom", "min_samples": 5}
    result = cached_comparison.comparison(a, b, k=5, cluster_params=params, projection_params={"method": "pca"})
    assert result.summary["only_in_a"] == ["t0000", "t0001", "t0002"] and result.summary["only_in_b"] == []
    assert result.summary["n"] == len(a) - 3
    assert result.summary["jaccard_mean"] == pytest.approx(1.0)
    assert result.summary["procrustes_error"] < 1e-5
    assert result.table["id"].tolist() == b.ids.tolist()


@pytest.fixture
def npz(tmp_path):
    emb = blob_set(seed=15)
    save_embeddings(tmp_path / "e.npz", emb.ids, emb.vectors)
    emb.metadata.to_parquet(tmp_path / "trailers.parquet", index=False)
    return tmp_path / "e.npz", emb


def test_cli_neighbours_json(npz, capsys):
    path, emb = npz
    assert main(["neighbours", "--embeddings", str(path), "--id", "t0005", "-k", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [set(r) for r in rows] == [{"id", "score", "shared_genres"}] * 3
    assert "t0005" not in [r["id"] for r in rows] and rows[0]["score"] >= rows[-1]["score"]


def test_cli_project_and_compare(npz, tmp_path, capsys):
    path, emb = npz
    out = tmp_path / "map.parquet"
    assert main(["project", "--embeddings", str(path), "--method", "pca", "--out", str(out)]) == 0
    assert list(pd.read_parquet(out).columns) == ["id", "x", "y"]
    assert json.loads(out.with_name("map.parquet.json").read_text())["params"]["method"] == "pca"
    capsys.readouterr()
    bad = tmp_path / "bad.npz"
    np.savez(bad, embeddings=np.ones(4), ids=np.array(["a", "b", "c", "d"]))
    assert main(["project", "--embeddings", str(bad), "--out", str(out)]) == 2
    assert "2-D array" in capsys.readouterr().err
