"""Embedding sets kept under ``data/uploads/<name>/``: uploads from the Data page and generated collections.

Each becomes the catalogue's set ``upload:<name>`` (:func:`mmx_core.workspace.list_sets`):
``embeddings.npz``, a trailer table (``trailers.csv`` or ``trailers.parquet``) and ``upload.json``.
Nothing is written unless the input is valid, and each file is written whole.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from mmx_core.base.artefacts import atomic_path, write_json
from mmx_core.trailers.embeddings import (EmbeddingSet, join_metadata, load_metadata, read_members, save_embeddings,
                                      validate_embeddings)
from mmx_core.base.errors import MMXError
from mmx_core.base.locks import folder_lock
from mmx_core.base.outputs import UPLOAD, check_output
from mmx_core.base.safeio import check_npz
from mmx_core.workspace import NAME_PATTERN, SetInfo, set_info, uploads_dir

__all__ = ["MAX_UPLOAD_BYTES", "check_set_name", "save_upload", "keep_generated"]

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""Largest uploaded embeddings file (bytes), compressed and expanded (the sum of its arrays' sizes);
the metadata CSV gets a tenth of it."""

def _read_upload(embeddings: bytes, max_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    # the limit applies to what loading would allocate: every member's header is checked first
    check_npz(embeddings, "the uploaded embeddings file", max_bytes)
    try:
        with np.load(io.BytesIO(embeddings), allow_pickle=False) as archive:
            missing = {"embeddings", "ids"} - set(archive.files)
            if missing:
                raise MMXError(f"the .npz lacks {sorted(missing)}; it needs 'embeddings' (n x dim) and 'ids'")
            vectors, ids, *_ = read_members(archive, set(archive.files))
            return vectors, ids
    except MMXError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad upload
        raise MMXError(f"the uploaded file is not an .npz archive without pickle ({str(exc)[:160]})") from None


def _check_upload_table(name: str, ids: np.ndarray, metadata_csv: bytes) -> None:
    folder = uploads_dir() / f".{name}.check"
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / "trailers.csv"
    probe.write_bytes(metadata_csv)
    try:
        join_metadata(ids, load_metadata(probe))
    finally:
        probe.unlink()
        folder.rmdir()


def check_set_name(name: str, *, option: str = "--name", overwrite: bool = False) -> Path:
    """The folder of the embedding set ``upload:<name>``, checked by the output contract before any work.

    Raises
    ------
    MMXError
        A name that is not allowed, a folder there the project did not write (no ``upload.json``), or (without
        ``overwrite``) an existing set of that name.
    """
    if not NAME_PATTERN.match(name or ""):
        raise MMXError(f"{option} {name!r} is not allowed; use letters, digits, '_', '-' or '.' (1-64 characters, "
                       "starting with a letter or digit)")
    return check_output(uploads_dir() / name, UPLOAD, option=option, overwrite=overwrite, overwrite_option=False)


def save_upload(name: str, embeddings: bytes, metadata_csv: bytes | None = None,
                max_bytes: int = MAX_UPLOAD_BYTES) -> SetInfo:
    """Validate an uploaded ``.npz`` (and optional trailer CSV) and keep it under ``data/uploads/<name>``.

    Nothing is written unless both files are valid; an existing upload of the
    same name is replaced only then.
    """
    check_set_name(name, option="upload name", overwrite=True)
    if len(embeddings) > max_bytes:
        raise MMXError(f"the embeddings file is {len(embeddings) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    if metadata_csv is not None and len(metadata_csv) > max_bytes // 10:
        raise MMXError(f"the metadata CSV is {len(metadata_csv) / 1e6:.1f} MB; the limit is {max_bytes / 10e6:.0f} MB")
    vectors, ids = _read_upload(embeddings, max_bytes)
    validate_embeddings(ids, vectors)
    if metadata_csv is not None:
        _check_upload_table(name, ids, metadata_csv)
    target = uploads_dir() / name
    with folder_lock(target, f"the embedding set {name!r}"):
        check_set_name(name, option="upload name", overwrite=True)   # again, under the lock
        if metadata_csv is not None:
            with atomic_path(target / "trailers.csv") as tmp:
                tmp.write_bytes(metadata_csv)
        with atomic_path(target / "embeddings.npz") as tmp:
            tmp.write_bytes(embeddings)
        write_json(target / "upload.json", {"name": name, "trailers": int(len(ids)), "dim": int(vectors.shape[1]),
                                           "metadata": metadata_csv is not None})
    return set_info(f"upload:{name}")


def keep_generated(name: str, emb: EmbeddingSet, source: str, dtype: str = "float32") -> SetInfo:
    """Keep a generated collection as the app set ``upload:<name>`` (embeddings, trailer table, record).

    An existing set of that name is refused (nothing is touched), and so is a second writer of the same name
    while the first writes. The embeddings file, which makes the set appear in the catalogue, is written last.
    """
    target = check_set_name(name)
    with folder_lock(target, f"the embedding set {name!r}"):
        check_set_name(name)   # again, under the lock: another writer may have finished meanwhile
        with atomic_path(target / "trailers.parquet") as tmp:
            emb.metadata.to_parquet(tmp, index=False)
        write_json(target / "upload.json", {"name": name, "trailers": len(emb), "dim": emb.dim, "metadata": True,
                                           "generated": source})
        save_embeddings(target / "embeddings.npz", emb.ids, emb.vectors, generated=True, source=source, dtype=dtype)
    return set_info(f"upload:{name}")
