"""Shared fixtures: every test writes its cache, data and runs under a temporary folder."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Point the cache, data and runs folders at a per-session temporary folder."""
    root = tmp_path_factory.getbasetemp() / "mmx_home"
    for name in ("cache", "data", "runs"):
        monkeypatch.setenv(f"MMX_{name.upper()}_DIR", str(root / name))
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
