"""The embedding sets the app can show.

Four kinds, each listed by :func:`list_collections` and read by :func:`load_collection`:

- ``published``: the bundled 7,594 trailer embeddings (:mod:`mmx_core.base.assets`);
- ``coarse`` / ``fine``: the shipped encoders' embeddings of the same trailers
  (``models/coarse_embeddings.npz``, ``models/fine_embeddings.npz``), listed only
  when the files exist; their metadata is the published trailer table;
- ``run:<run>/<file>``: embeddings written by a training run
  (``runs/<run>/embeddings/<file>.npz``);
- ``upload:<name>``: uploaded embeddings kept under ``data/uploads/<name>/``.

Metadata of a run or an upload comes from a trailer table beside the ``.npz``
(same stem, ``.parquet`` or ``.csv``), else from the published table when the
ids are published ids. Thumbnails come from the published archive by id.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import atomic_path, read_json, write_json
from mmx_core.base.assets import PUBLISHED_EMBEDDINGS, PUBLISHED_THUMBNAILS, published_metadata, thumbnail_archive
from mmx_core.base.embeddings import EmbeddingSet, join_metadata, load_embeddings, load_metadata, validate_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import MODELS_DIR, data_dir, runs_dir

__all__ = [
    "CollectionInfo", "list_collections", "load_collection", "thumbnail_bytes", "save_upload",
    "uploads_dir", "MAX_UPLOAD_BYTES", "SHIPPED",
]

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""Largest uploaded embeddings file (bytes); the metadata CSV gets a tenth of it."""

SHIPPED = {"coarse": "coarse_embeddings.npz", "fine": "fine_embeddings.npz"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class CollectionInfo:
    """One embedding set the app can show.

    Attributes
    ----------
    name : str
        Key used in URLs and choosers (``published``, ``coarse``, ``run:<run>/<file>``, ``upload:<name>``).
    label : str
        Text shown in the chooser (says "generated" for generated features).
    kind : str
        ``published``, ``shipped``, ``run`` or ``upload``.
    path : Path
        The embeddings file.
    generated : bool
        True when the vectors come from generated expert features.
    """

    name: str
    label: str
    kind: str
    path: Path
    generated: bool = False


def uploads_dir() -> Path:
    """Where uploaded collections are kept (``data/uploads``)."""
    return data_dir() / "uploads"


def _generated_flag(path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return bool(archive["generated"]) if "generated" in archive.files else False
    except (OSError, ValueError, KeyError):
        return False


def _info(name: str, label: str, kind: str, path: Path) -> CollectionInfo:
    generated = _generated_flag(path)
    return CollectionInfo(name, label + (" (generated features)" if generated else ""), kind, path, generated)


def list_collections() -> list[CollectionInfo]:
    """Every embedding set available now, published first."""
    found = [CollectionInfo("published", "published (7,594 real trailers)", "published", PUBLISHED_EMBEDDINGS)]
    for name, file in SHIPPED.items():
        path = MODELS_DIR / file
        if path.exists():
            found.append(_info(name, f"{name} (shipped encoder)", "shipped", path))
    if runs_dir().is_dir():
        for path in sorted(runs_dir().glob("*/embeddings/*.npz")):
            run = path.parent.parent.name
            found.append(_info(f"run:{run}/{path.stem}", f"run {run}: {path.stem}", "run", path))
    if uploads_dir().is_dir():
        for path in sorted(uploads_dir().glob("*/embeddings.npz")):
            found.append(_info(f"upload:{path.parent.name}", f"upload: {path.parent.name}", "upload", path))
    return found


def collection_info(name: str) -> CollectionInfo:
    """The :class:`CollectionInfo` called ``name``; unknown names raise :class:`MMXError`."""
    for info in list_collections():
        if info.name == name:
            return info
    known = [c.name for c in list_collections()]
    raise MMXError(f"unknown embedding set {name!r}; available: {known}")


def load_collection(name: str) -> EmbeddingSet:
    """The embedding set called ``name`` with its metadata (cached while the file is unchanged)."""
    info = collection_info(name)
    stat = info.path.stat()
    return _load(info, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(info: CollectionInfo, mtime: int, size: int) -> EmbeddingSet:
    if info.kind == "published":
        from mmx_core.base.assets import load_published

        return load_published()
    emb = load_embeddings(info.path, name=info.name)
    table = _sidecar_table(info.path)
    if table is None:
        table = published_metadata()
    emb.metadata = join_metadata(emb.ids, table, info.path)
    if "genres" not in emb.metadata.columns:
        emb.metadata["genres"] = [[] for _ in range(len(emb))]
    if "year" not in emb.metadata.columns:
        emb.metadata["year"] = pd.array([pd.NA] * len(emb), dtype="Int64")
    return emb


def _sidecar_table(path: Path) -> pd.DataFrame | None:
    for suffix in (".parquet", ".csv"):
        candidate = path.with_suffix(suffix)
        if candidate.exists():
            return load_metadata(candidate)
    if path.name == "embeddings.npz":
        for candidate in (path.parent / "trailers.parquet", path.parent / "trailers.csv"):
            if candidate.exists():
                return load_metadata(candidate)
    return None


def thumbnail_bytes(trailer_id: str, metadata_row: pd.Series | dict | None = None) -> bytes | None:
    """JPEG bytes of a trailer's thumbnail from the published archive, or None."""
    if not PUBLISHED_THUMBNAILS.exists():
        return None
    name = None
    if metadata_row is not None:
        value = metadata_row.get("thumbnail")
        if isinstance(value, str) and value:
            name = value
    archive = thumbnail_archive()
    return archive.read(name or f"{trailer_id}.jpg")


def save_upload(name: str, embeddings: bytes, metadata_csv: bytes | None = None,
                max_bytes: int = MAX_UPLOAD_BYTES) -> CollectionInfo:
    """Validate an uploaded ``.npz`` (and optional trailer CSV) and keep it under ``data/uploads/<name>``.

    Nothing is written unless both files are valid; an existing upload of the
    same name is replaced only then.
    """
    if not _NAME.match(name or ""):
        raise MMXError(f"upload name {name!r} is not allowed; use letters, digits, '_', '-' or '.' (1-64 characters)")
    if len(embeddings) > max_bytes:
        raise MMXError(f"the embeddings file is {len(embeddings) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    if metadata_csv is not None and len(metadata_csv) > max_bytes // 10:
        raise MMXError(f"the metadata CSV is {len(metadata_csv) / 1e6:.1f} MB; the limit is {max_bytes / 10e6:.0f} MB")
    try:
        with np.load(io.BytesIO(embeddings), allow_pickle=False) as archive:
            missing = {"embeddings", "ids"} - set(archive.files)
            if missing:
                raise MMXError(f"the .npz lacks {sorted(missing)}; it needs 'embeddings' (n x dim) and 'ids'")
            vectors, ids = archive["embeddings"], archive["ids"].astype(str)
    except MMXError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad upload
        raise MMXError(f"the uploaded file is not an .npz archive without pickle ({exc})") from None
    validate_embeddings(ids, vectors)
    table = None
    if metadata_csv is not None:
        folder = uploads_dir() / f".{name}.check"
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / "trailers.csv"
        probe.write_bytes(metadata_csv)
        try:
            table = load_metadata(probe)
            join_metadata(ids, table)
        finally:
            probe.unlink()
            folder.rmdir()
    target = uploads_dir() / name
    target.mkdir(parents=True, exist_ok=True)
    if table is not None:
        with atomic_path(target / "trailers.csv") as tmp:
            tmp.write_bytes(metadata_csv)
    with atomic_path(target / "embeddings.npz") as tmp:
        tmp.write_bytes(embeddings)
    write_json(target / "upload.json", {"name": name, "trailers": int(len(ids)), "dim": int(vectors.shape[1]),
                                       "metadata": table is not None})
    return collection_info(f"upload:{name}")


def upload_record(name: str) -> dict:
    """The ``upload.json`` of an upload (for display)."""
    return read_json(uploads_dir() / name / "upload.json")


def check_folder(path: str | Path, name: str = "") -> dict:
    """Validate a trailer data set folder on the server; returns ``{"kind", "ok", "report", "problems", "name", "note"}``.

    ``ok`` is True or False for a validated folder and None while an import runs in the background.

    A folder in the project's format (``manifest.json``) is validated in place; it can be used for
    training when it lies under the data folder. Any other folder is taken for the authors' layout and
    imported into ``data/<name>`` in the background (``python -m mmx_core import-mmx``, which validates
    every tensor and reports problems in the data set's ``import_report.json``).
    """
    folder = Path(str(path).strip()).expanduser()
    if not str(path).strip() or not folder.is_dir():
        raise MMXError("not a folder on the server; give the full path of a data set folder", folder)
    from mmx_core.data import validate_dataset
    from mmx_core.data.validate import format_report

    if (folder / "manifest.json").exists():
        report = validate_dataset(folder, deep=False)
        inside = folder.resolve().is_relative_to(data_dir().resolve())
        return {"kind": "project format", "ok": report.ok, "report": format_report(report),
                "problems": report.problems, "name": folder.name if inside else "",
                "note": "" if inside else f"usable for training once it is under {data_dir()}"}
    if not _NAME.match(name or ""):
        raise MMXError(f"no manifest.json, so this is taken for the authors' layout; give a name for the imported "
                       f"data set (letters, digits, '_', '-', '.'), got {name!r}")
    target = data_dir() / name
    if target.exists():
        raise MMXError(f"a data set called {name!r} exists already under {data_dir()}; choose another name")
    log = start_import(folder, name)
    return {"kind": "authors' layout", "ok": None, "problems": [], "name": name,
            "report": f"Importing in the background into {target}; progress in {log}. The importer validates "
                      "every tensor and writes import_report.json; the data set appears on the Train page when done.",
            "note": "import started"}


def start_import(folder: Path, name: str) -> Path:
    """Start ``python -m mmx_core import-mmx FOLDER --out data/<name>`` in the background; returns its log file."""
    import subprocess
    import sys

    from mmx_core.base.paths import PROJECT_ROOT

    data_dir().mkdir(parents=True, exist_ok=True)
    log_path = data_dir() / f".{name}.import-log.txt"
    argv = [sys.executable, "-m", "mmx_core", "import-mmx", str(folder.resolve()), "--out", str(data_dir() / name)]
    with open(log_path, "ab") as log:
        subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    return log_path
