"""Fixtures of the data tests: tiny generated sets and small trees of the authors' layout."""

from __future__ import annotations

import shutil

import pytest

from mmx_core.data.synth import synthesize

from mmx_data_helpers import TINY_DIMS


@pytest.fixture(scope="session")
def tiny_set_source(tmp_path_factory):
    """A planted set of 40 trailers with tiny dims (read-only: copy it before changing it)."""
    out = tmp_path_factory.mktemp("tiny") / "set"
    return synthesize(out, 40, seed=3, dims=TINY_DIMS)


@pytest.fixture
def tiny_set(tiny_set_source, tmp_path):
    """A private copy of the tiny set that a test may damage."""
    return shutil.copytree(tiny_set_source, tmp_path / "set")
