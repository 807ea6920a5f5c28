"""Where the project keeps what it computes: cache, data sets and training runs.

Each folder can be moved with an environment variable (the tests point all three
at a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

from mmx_core.base.errors import MMXError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
MODELS_DIR = PROJECT_ROOT / "models"


def _folder(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else default


def cache_dir() -> Path:
    """Computed artefacts (``$MMX_CACHE_DIR``, default ``cache/``)."""
    return _folder("MMX_CACHE_DIR", PROJECT_ROOT / "cache")


def data_dir() -> Path:
    """Generated or imported trailer data sets (``$MMX_DATA_DIR``, default ``data/``)."""
    return _folder("MMX_DATA_DIR", PROJECT_ROOT / "data")


def runs_dir() -> Path:
    """Training runs (``$MMX_RUNS_DIR``, default ``runs/``)."""
    return _folder("MMX_RUNS_DIR", PROJECT_ROOT / "runs")


def annotations_dir() -> Path:
    """Annotation stores, one per embedding set (``$MMX_ANNOTATIONS_DIR``, default ``<data folder>/annotations``)."""
    return _folder("MMX_ANNOTATIONS_DIR", data_dir() / "annotations")


def shipped_cache_dir() -> Path:
    """Read-only precomputed artefacts in the repository (same layout as :func:`cache_dir`)."""
    return ASSETS_DIR / "cache"


def allowed_roots() -> list[Path]:
    """Folders the app may read inputs from (``$MMX_DATA_ROOTS``, separated by ``os.pathsep``; default the data folder).

    The Data page's "load a folder", import and extraction inputs must lie under one of them
    (:func:`check_under_roots`), so a visitor of the app cannot read any folder of the server.
    """
    value = os.environ.get("MMX_DATA_ROOTS", "")
    roots = [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]
    return [root.resolve() for root in roots] or [data_dir().resolve()]


def served_roots() -> list[Path]:
    """Folders the app may serve files from (thumbnails, source videos): the allowed roots and the data folder.

    Whatever a trailer table or a data set's ``sources.json`` names, a file the app sends to a browser
    resolves under one of these (:func:`under_served_roots`).
    """
    roots = allowed_roots()
    data = data_dir().resolve()
    return roots if any(data.is_relative_to(root) for root in roots) else [*roots, data]


def under_served_roots(path: str | Path) -> Path | None:
    """``path`` resolved (links and ``..`` followed) when it lies under :func:`served_roots`, else None."""
    text = str(path).strip()
    if not text:
        return None
    resolved = Path(text).expanduser().resolve()
    return resolved if any(resolved.is_relative_to(root) for root in served_roots()) else None


def check_under_roots(path: str | Path, what: str) -> Path:
    """``path`` resolved (symbolic links and ``..`` followed); :class:`MMXError` unless it lies under an allowed root."""
    text = str(path).strip()
    roots = allowed_roots()
    resolved = Path(text).expanduser().resolve() if text else None
    if resolved is None or not any(resolved.is_relative_to(root) for root in roots):
        raise MMXError(f"{what} {text!r} is outside the folders the app may read "
                       f"({', '.join(str(root) for root in roots)}); move it under one of them, or ask the "
                       "server's owner to add its folder to MMX_DATA_ROOTS")
    return resolved


def display_path(path: str | Path) -> str:
    """``path`` as records and messages show it: relative to the project folder when it is inside it or
    beside it (``data/published``, ``../shared/...``), else absolute. Records then do not carry one
    machine's folder layout."""
    resolved = Path(path).resolve()
    root = PROJECT_ROOT.resolve()
    if resolved.is_relative_to(root.parent):
        return os.path.relpath(resolved, root)
    return str(resolved)
