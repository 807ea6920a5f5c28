"""Checks shared by the job requests: names, folders inside the project's folders, starting checkpoints."""

from __future__ import annotations

import re
import time
from pathlib import Path

from mmx_core.base.errors import MMXError
from mmx_core.base.paths import MODELS_DIR, annotations_dir, check_under_roots, data_dir, runs_dir
from mmx_core.train.checkpoint import run_checkpoint

__all__ = ["NAME_PATTERN", "inside", "check_name", "dataset_folder", "new_dataset", "stamp", "init_path", "tags_file"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


def inside(path: Path, root: Path, what: str) -> Path:
    """``path`` resolved, refused unless it lies under ``root``."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise MMXError(f"{what} {str(path)!r} is outside {root}; only the project's folders are allowed")
    return resolved


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise MMXError(f"{what} {value!r} is not allowed; use 1-64 letters, digits, '_', '-' or '.'")
    return value


def dataset_folder(name: str) -> Path:
    """The data set folder ``data/<name>`` (it must hold a manifest.json)."""
    check_name(name, "data set")
    folder = data_dir() / name
    if not (folder / "manifest.json").is_file():
        raise MMXError(f"data set {name!r} is not a data set folder under {data_dir()}")
    return folder


def new_dataset(name: str) -> None:
    """Refuse the name of a data set a job is to write when one exists already."""
    if (data_dir() / check_name(name, "data set name")).exists():
        raise MMXError(f"a data set called {name!r} exists already under {data_dir()}; choose another name")


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def init_path(value: str) -> Path:
    """A starting checkpoint: a path inside the runs or models folder (older job files hold
    ``run:<name>`` / ``models:<file>`` keys, read here too)."""
    if value.startswith("run:"):
        path = run_checkpoint(runs_dir() / check_name(value[4:], "run"))
    elif value.startswith("models:"):
        path = MODELS_DIR / value[7:]
    else:
        path = Path(value)
    resolved = path.resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in (runs_dir(), MODELS_DIR)):
        raise MMXError(f"starting checkpoint {value!r} is outside {runs_dir()} and {MODELS_DIR}")
    if not resolved.is_file():
        raise MMXError(f"starting checkpoint {value!r} does not exist")
    return resolved


def tags_file(path: str) -> Path:
    """A tags file for ``train --tags``: under the annotations folder (the app's exports) or the allowed roots."""
    resolved = Path(path).resolve()
    if resolved.is_relative_to(annotations_dir().resolve()):
        return resolved
    return check_under_roots(path, "tags file")
