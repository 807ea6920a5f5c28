"""Fixtures of the training tests: tiny generated sets, one torch thread."""

from __future__ import annotations

import pytest
import torch
from mmx_train_toys import make_set


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
