"""Shared fixtures: every test writes its cache, data and runs under a temporary folder."""

from __future__ import annotations

import os

import numpy as np
import pytest

from project_dirs import env_for, session_home

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Point the cache, data and runs folders at a per-session temporary folder."""
    for name, value in env_for(session_home(tmp_path_factory)).items():
        monkeypatch.setenv(name, value)
    # inputs the app may read: anywhere under the session's temporary folder (tests build their trees there)
    monkeypatch.setenv("MMX_DATA_ROOTS", str(tmp_path_factory.getbasetemp()))
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tiny_data() -> str:
    """A tiny generated trailer data set ``data/tiny`` (24 trailers, small expert dims)."""
    from mmx_core.data import synthesize
    from mmx_core.base.paths import data_dir

    if not (data_dir() / "tiny").exists():
        synthesize(data_dir() / "tiny", 24, 0, dims={"image": 16, "scene": 16, "motion": 8, "audio": 4},
                   sequences=(1, 2))
    return "tiny"


@pytest.fixture
def published_store(tmp_path, monkeypatch):
    """The annotation store of the published set, empty at the start of the test, in a folder of the test's own."""
    from mmx_core.annotations.store import AnnotationStore

    monkeypatch.setenv("MMX_ANNOTATIONS_DIR", str(tmp_path / "annotations"))
    return AnnotationStore.for_set("published")
