"""Warm-started 2-D maps of large sets (issue 20): forced on small sets by lowering the limit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore import Projector, SubgenreClusterer
from mmx_core.explore.cached_map import projection, projection_path
from mmx_core.explore.backends import cache_params, resolve_for_cache
from mmx_core.explore.scale import POLICY, cluster_plan
from mmx_core.explore.warm_map import REFINE_EPOCHS, REFINE_LEARNING_RATE, WARM, WarmStart, interpolate, warm_plan

SMALL = WarmStart(above=400, sample=300)  # the warm start forced on a set of a thousand rows


def structured_set(n: int = 1000, dim: int = 48, n_centres: int = 40, seed: int = 0) -> np.ndarray:
    """Non-negative rows around ``n_centres`` random centres at two scales (groups of centres), like the
    generated sets of the benchmarks but small."""
    rng = np.random.default_rng(seed)
    groups = rng.random((8, dim)).astype(np.float32) ** 4
    centres = groups[rng.integers(8, size=n_centres)] + 0.3 * rng.random((n_centres, dim)).astype(np.float32) ** 4
    rows = centres[rng.integers(n_centres, size=n)]
    return np.abs(rows + 0.05 * rng.standard_normal((n, dim)).astype(np.float32))


def cosine_trust(X: np.ndarray, Y: np.ndarray) -> float:
    return float(trustworthiness(X, Y, n_neighbors=10, metric="cosine"))


@pytest.fixture(scope="module")
def warm_map():
    X = structured_set()
    projector = Projector(seed=0, n_epochs=100)
    return X, projector, projector.fit_transform(X, warm=SMALL)


def test_the_warm_path_gives_a_map_of_every_row(warm_map):
    X, projector, Y = warm_map
    assert projector.plan_["fit"] == "warm-start" and projector.plan_["fit_rows"] == SMALL.sample
    assert projector.plan_["refine_epochs"] == REFINE_EPOCHS == 30
    assert Y.shape == (len(X), 2) and Y.dtype == np.float32 and np.isfinite(Y).all()
    assert len(np.unique(Y, axis=0)) == len(X)  # the interpolated rows were refined apart


def test_the_warm_path_is_deterministic_for_a_seed(warm_map):
    X, _, Y = warm_map
    np.testing.assert_array_equal(Projector(seed=0, n_epochs=100).fit_transform(X, warm=SMALL), Y)
    other = Projector(seed=1, n_epochs=100).fit_transform(X, warm=SMALL)
    assert not np.array_equal(other, Y)


def test_the_warm_map_keeps_neighbourhoods(warm_map):
    X, _, Y = warm_map
    full = Projector(seed=0, n_epochs=100).fit_transform(X)  # the default path at this size
    assert cosine_trust(X, Y) > 0.9
    assert cosine_trust(X, Y) > cosine_trust(X, full) - 0.02


def test_plans_warm_start_only_2d_cpu_umap_maps_between_the_limits():
    assert Projector().scale_plan(7594) is None  # the published set: no plan, as before
    assert Projector().scale_plan(WARM.above) is None
    plan = Projector().scale_plan(WARM.above + 1)
    assert plan == {"fit": "warm-start", "fit_rows": WARM.sample, "knn": "faiss-ivf", "sample_seed": 0,
                    "refine_epochs": REFINE_EPOCHS, "refine_learning_rate": REFINE_LEARNING_RATE,
                    "warm_start": WARM.get_params()}
    assert Projector(seed=4, n_epochs=None).scale_plan(100_000)["refine_epochs"] == REFINE_EPOCHS
    assert Projector(n_epochs=12).scale_plan(100_000)["refine_epochs"] == 12  # never more than the fit's
    assert Projector(n_components=10).scale_plan(100_000) is None
    assert Projector(method="tsne").scale_plan(100_000) is None
    assert Projector().scale_plan(POLICY.sample_fit_above + 1)["fit"] == "sample+transform"  # as before
    assert Projector().scale_plan(100_000, warm=WarmStart(above=None)) is None
    assert warm_plan(100_000, 0, 150, WarmStart(above=None)) is None
    c = SubgenreClusterer()  # the clustering space is never warm-started
    assert cluster_plan(100_000, "umap10", c.min_cluster_size, Projector().exact_knn_max, 0)["reduction"] is None


def test_small_sets_keep_their_cache_key():
    projector = Projector()
    used, key = resolve_for_cache(projector, projector.scale_plan(7594))
    assert used == "cpu" and key == cache_params(Projector().get_params(), "cpu") and "scale" not in key


def test_the_cached_map_records_the_warm_plan():
    X = structured_set(n=600, seed=3)
    ids = np.array([f"w{i:04d}" for i in range(len(X))])
    emb = EmbeddingSet(ids, X, None, "warm-test")
    warm = WarmStart(above=500, sample=200)
    path = projection_path(emb, n_epochs=30, warm=warm)
    params = json.loads((path.parent / (path.name + ".json")).read_text())["params"]
    assert params["scale"]["fit"] == "warm-start" and params["scale"]["warm_start"] == warm.get_params()
    assert projection_path(emb, n_epochs=30) != path  # below the default limit: the plain map
    table = projection(emb, n_epochs=30, warm=warm)
    assert list(table["id"]) == list(ids)


def test_interpolation_puts_rows_among_their_nearest_sample_rows():
    sample = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0]], dtype=np.float32)
    sample_map = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]], dtype=np.float32)
    new = np.array([[0.0, 0.0], [0.5, 0.0], [10.0, 10.0]], dtype=np.float32)
    placed = interpolate(sample, sample_map, new, k=2)
    np.testing.assert_allclose(placed[0], [0.0, 0.0], atol=1e-4)  # on a sample row: at its position
    np.testing.assert_allclose(placed[1], [1.0, 0.0], atol=1e-4)  # halfway between two: halfway
    np.testing.assert_allclose(placed[2], [5.0, 5.0], atol=1e-4)
    assert interpolate(sample, sample_map, new, k=10).shape == (3, 2)  # k capped at the sample


@pytest.mark.parametrize("params, message", [
    ({"above": 2}, r"above=2: must be an integer >= 3 or None"),
    ({"above": 1000, "sample": 1000}, r"sample=1000: must be below above=1000"),
    ({"place_neighbors": 0}, r"place_neighbors=0: must be an integer >= 1"),
    ({"knn_index": "ivfpq"}, r"knn_index='ivfpq': must be one of"),
])
def test_warm_start_parameters_are_checked(params, message):
    with pytest.raises(MMXError, match=message):
        WarmStart(**params).validate()
