"""The catalogue of what is on disk, and :func:`load_set`, the one loader of an embedding set.

Everything is read from the project's folders (:mod:`mmx_core.base.paths`), never from a
running process:

- data sets: folders with a ``manifest.json`` under the data folder (:func:`data_sets`);
- runs and their checkpoints: ``runs/<run>/checkpoints/{best,last}.pt`` and the shipped
  ``models/*.pt`` (:func:`checkpoints`);
- embedding sets the app can show (:func:`list_sets`, :func:`set_info`):

  - ``published``: the bundled 7,594 trailer embeddings (:mod:`mmx_core.trailers.published`);
  - ``coarse`` / ``fine``: the shipped encoders' embeddings of the same trailers
    (``models/coarse_embeddings.npz``, ``models/fine_embeddings.npz``), when the files exist;
  - ``run:<run>/<file>``: embeddings written by a run (``runs/<run>/embeddings/<file>.npz``);
  - ``upload:<name>``: uploaded embeddings kept under ``data/uploads/<name>/``;
- prediction files written by runs, ``runs/*/**/predictions*.npz`` (:func:`prediction_files`);
- the uploads folder (:func:`uploads_dir`; writing an upload or a generated collection there is
  :mod:`mmx_core.appkit.uploads`).

Metadata rule of :func:`load_set` (the CLI and the app both load through it):

1. the ``metadata`` table when one is given (``--metadata``);
2. else the table with the file's stem beside it (``<stem>.parquet``, then ``<stem>.csv``);
3. else ``trailers.parquet`` / ``trailers.csv`` in the file's folder;
4. else the bundled published table.

Ids absent from the table get empty metadata (title = id, no genres, no year); the
``genres`` (lists) and ``year`` (Int64) columns are always present. A set is read once
per process while its file and its table keep their modification time and size.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mmx_core.trailers.published import PUBLISHED_EMBEDDINGS, PUBLISHED_TRAILERS, published_metadata
from mmx_core.trailers.embeddings import EmbeddingSet, join_metadata, load_embeddings, load_metadata
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import MODELS_DIR, data_dir, runs_dir
from mmx_core.base.safeio import check_npz, regular_file
from mmx_core.jobs.checks import NAME_PATTERN
from mmx_core.train.checkpoint import run_checkpoint

if TYPE_CHECKING:
    from mmx_core.evaluate.predictions import Predictions

__all__ = ["data_sets", "checkpoints", "SetInfo", "list_sets", "set_info", "load_set", "prediction_files",
           "load_prediction_file", "uploads_dir", "file_stamp", "SHIPPED", "NAME_PATTERN"]

SHIPPED = {"coarse": "coarse_embeddings.npz", "fine": "fine_embeddings.npz"}
"""Names of the shipped encoders' embedding sets -> their file under ``models/``."""


# -- data sets, checkpoints, prediction files ----------------------------------------------------
def data_sets() -> list[str]:
    """Names of trailer data sets under the data folder (folders holding a ``manifest.json``)."""
    return sorted(p.parent.name for p in data_dir().glob("*/manifest.json"))  # none when the folder is absent


def checkpoints() -> dict[str, Path]:
    """Starting checkpoints: ``run:<name>`` (its best, else last) and ``models:<file>`` (shipped)."""
    found: dict[str, Path] = {}
    root = runs_dir()
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        runs = sorted(entry.name for entry in entries if entry.is_dir())
        for name in runs:  # one listing per run: the catalogue stays quick with thousands of runs and jobs
            try:
                present = set(os.listdir(root / name / "checkpoints"))
            except OSError:
                continue
            if (path := run_checkpoint(root / name, present)).name in present:
                found[f"run:{name}"] = path
    for path in sorted(MODELS_DIR.glob("*.pt")):
        found[f"models:{path.name}"] = path
    return found


def prediction_files() -> dict[str, Path]:
    """Predictions files under the runs folder, keyed ``<run>/<file>``."""
    root = runs_dir()
    return {str(p.relative_to(root)): p for p in sorted(root.glob("*/**/predictions*.npz"))}


def load_prediction_file(name: str) -> Predictions:
    """The predictions file ``name`` (a key of :func:`prediction_files`)."""
    from mmx_core.evaluate.predictions import load_predictions

    files = prediction_files()
    if name not in files:
        raise MMXError(f"no predictions file {name!r}; available: {list(files)}")
    return load_predictions(files[name])


# -- embedding sets -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetInfo:
    """One embedding set of the catalogue.

    Attributes
    ----------
    name : str
        Key used in URLs, choosers and :func:`load_set` (``published``, ``coarse``,
        ``run:<run>/<file>``, ``upload:<name>``).
    label : str
        Text shown in the chooser (says "generated" for generated features).
    kind : str
        ``published``, ``shipped``, ``run`` or ``upload``.
    path : Path
        The embeddings file.
    generated : bool
        True when the vectors come from generated expert features.
    untrained : bool
        True when the expert features came from untrained (random) backbones.
    """

    name: str
    label: str
    kind: str
    path: Path
    generated: bool = False
    untrained: bool = False


def file_stamp(path: Path | None) -> tuple[int, int] | None:
    """What identifies a file's current contents: ``(mtime_ns, size)``, None when it cannot be read."""
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return None if stat is None else (stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _flags(path: Path, stamp: tuple | None) -> tuple[bool, bool]:
    """``(generated, untrained)`` of an embeddings file (False, False when it cannot be read)."""
    try:
        check_npz(regular_file(path, "embeddings file"), "embeddings file")
        with np.load(path, allow_pickle=False) as archive:
            return tuple(bool(archive[k]) if k in archive.files else False for k in ("generated", "untrained"))
    except (MMXError, OSError, ValueError, KeyError, TypeError, EOFError):
        return False, False


def _info(name: str, label: str, kind: str, path: Path) -> SetInfo:
    generated, untrained = _flags(path, file_stamp(path))
    label += (" (generated features)" if generated else "") + (" (untrained backbones)" if untrained else "")
    return SetInfo(name, label, kind, path, generated, untrained)


def list_sets() -> list[SetInfo]:
    """Every embedding set available now, published first."""
    found = [SetInfo("published", "published (7,594 real trailers)", "published", PUBLISHED_EMBEDDINGS)]
    for name, file in SHIPPED.items():
        if (MODELS_DIR / file).exists():
            found.append(_info(name, f"{name} (shipped encoder)", "shipped", MODELS_DIR / file))
    for path in sorted(runs_dir().glob("*/embeddings/*.npz")):  # glob finds nothing in an absent folder
        run = path.parent.parent.name
        found.append(_info(f"run:{run}/{path.stem}", f"run {run}: {path.stem}", "run", path))
    for path in sorted(uploads_dir().glob("*/embeddings.npz")):
        found.append(_info(f"upload:{path.parent.name}", f"upload: {path.parent.name}", "upload", path))
    return found


def set_info(name: str) -> SetInfo:
    """The :class:`SetInfo` called ``name``; unknown names raise :class:`MMXError`."""
    found = list_sets()
    if info := next((i for i in found if i.name == name), None):
        return info
    raise MMXError(f"unknown embedding set {name!r}; available: {[i.name for i in found]}, or give an .npz file")


def _table_beside(path: Path) -> Path | None:
    candidates = [path.with_suffix(".parquet"), path.with_suffix(".csv"),
                  path.parent / "trailers.parquet", path.parent / "trailers.csv"]
    return next((c for c in candidates if c.exists()), None)


def load_set(source: str | Path, metadata: str | Path | None = None) -> EmbeddingSet:
    """An embedding set with its trailer table (see the module docstring for the metadata rule).

    Parameters
    ----------
    source : str or Path
        A catalogue name (``published``, ``coarse``, ``fine``, ``run:<run>/<file>``,
        ``upload:<name>``; the set keeps that name) or an ``.npz`` embeddings file (named by its stem).
    metadata : str or Path, optional
        Trailer table (.parquet or .csv) joined by ``id``, instead of the one found beside the file.
    """
    text = str(source)
    is_set_name = not isinstance(source, Path) and (text in ("published", *SHIPPED)
                                                    or text.startswith(("run:", "upload:")))
    info = set_info(text) if is_set_name else None
    path, name = (info.path, info.name) if info is not None else (Path(source), Path(source).stem)
    table = Path(metadata) if metadata is not None else _table_beside(path)
    return _load(path, name, table, file_stamp(path), file_stamp(table))


@functools.lru_cache(maxsize=8)
def _load(path: Path, name: str, table_path: Path | None, stamp, table_stamp) -> EmbeddingSet:
    emb = load_embeddings(path, name=name)
    if table_path is not None and table_path.resolve() != PUBLISHED_TRAILERS.resolve():
        table = load_metadata(table_path)
    elif PUBLISHED_TRAILERS.exists():
        table = published_metadata()
    else:
        table = pd.DataFrame(columns=["id", "title", "display_title"], dtype=str)
    emb.metadata = join_metadata(emb.ids, table, table_path or path)
    if "genres" not in emb.metadata.columns:
        emb.metadata["genres"] = [[] for _ in range(len(emb))]
    if "year" not in emb.metadata.columns:
        emb.metadata["year"] = pd.array([pd.NA] * len(emb), dtype="Int64")
    return emb


# -- uploads --------------------------------------------------------------------------------------
def uploads_dir() -> Path:
    """Where uploaded embedding sets are kept (``data/uploads``)."""
    return data_dir() / "uploads"
