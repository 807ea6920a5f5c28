"""Where the project keeps what it computes: cache, data sets and training runs.

Each folder can be moved with an environment variable (the tests point all three
at a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
MODELS_DIR = PROJECT_ROOT / "models"


def _folder(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else PROJECT_ROOT / default


def cache_dir() -> Path:
    """Computed artefacts (``$MMX_CACHE_DIR``, default ``cache/``)."""
    return _folder("MMX_CACHE_DIR", "cache")


def data_dir() -> Path:
    """Generated or imported trailer data sets (``$MMX_DATA_DIR``, default ``data/``)."""
    return _folder("MMX_DATA_DIR", "data")


def runs_dir() -> Path:
    """Training runs (``$MMX_RUNS_DIR``, default ``runs/``)."""
    return _folder("MMX_RUNS_DIR", "runs")


def shipped_cache_dir() -> Path:
    """Read-only precomputed artefacts in the repository (same layout as :func:`cache_dir`)."""
    return ASSETS_DIR / "cache"
