"""Where the tests' project folders are: the cache, data and runs folders pointed at one home folder."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pytest

FOLDERS = ("cache", "data", "runs")


def env_for(home: Path) -> dict[str, str]:
    """``MMX_CACHE_DIR``, ``MMX_DATA_DIR`` and ``MMX_RUNS_DIR`` under ``home`` (for a child process's env)."""
    return {f"MMX_{name.upper()}_DIR": str(Path(home) / name) for name in FOLDERS}


def session_home(tmp_path_factory) -> Path:
    """The session's project home (the autouse fixture of tests/conftest.py points every test at it)."""
    return tmp_path_factory.getbasetemp() / "mmx_home"


@contextlib.contextmanager
def project_dirs(home: Path) -> Iterator[Path]:
    """Point this process's project folders at ``home`` for the block (module fixtures run before the autouse one)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env_for(home).items():
            patch.setenv(name, value)
        yield Path(home)
