"""Tiny generated data sets and tiny model sizes for the training tests."""

from __future__ import annotations

import pytest
import torch

from mmx_core.data import synthesize

TINY_DIMS = {"image": 12, "scene": 12, "motion": 6, "audio": 4}
TINY_MODEL = dict(shared_dim=8, sequence_dim=16, bottleneck_dim=12, gating_hidden=8, head_hidden=16,
                  projection_dim=8, vlad_clusters=3, train_sequences=3)
TINY_MODEL_ARGS = ["--shared-dim", "8", "--sequence-dim", "16", "--bottleneck-dim", "12", "--gating-hidden", "8",
                   "--head-hidden", "16", "--projection-dim", "8", "--vlad-clusters", "3", "--train-sequences", "3"]


def make_set(path, n=96, seed=1, dims=None):
    return synthesize(path, n_trailers=n, seed=seed, latent="planted", dims=dims or TINY_DIMS, latent_dim=8,
                      subgenres_per_genre=2)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """96 planted trailers with tiny expert dims (read-only for the tests)."""
    return make_set(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="session")
def other_data(tmp_path_factory):
    """Another tiny set with the same dims and genres but other trailers."""
    return make_set(tmp_path_factory.mktemp("other") / "data", n=80, seed=2)


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """The CPU is shared: each training test module runs torch on one thread."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
