"""The embeddings file format, shared by every embedding set in the project.

An embeddings file is an ``.npz`` archive (no pickle) with

- ``embeddings``: float array of shape (n_trailers, dim), written as float32
  (float16 is accepted on read, e.g. for compact bundled assets);
- ``ids``: unicode array of shape (n_trailers,), unique trailer ids;
- optional ``generated``: 0-d bool, True when the vectors come from generated
  expert features (the app labels such sets);
- optional ``source``: 0-d unicode, free text saying how the file was made;
- optional ``untrained``: 0-d bool, True when the expert features were extracted with untrained
  (random) backbones (``extract --untrained``, for testing the pipeline; the app says so).

Metadata (title, year, genres, ...) is not inside the file: it is a trailer
table joined by ``id`` (see :func:`load_metadata`).
"""

from __future__ import annotations

import functools
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import array_hash, atomic_path
from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import MAX_ARRAY_BYTES, check_npz, regular_file
from mmx_core.trailers.titles import display_titles

__all__ = ["EmbeddingSet", "load_embeddings", "save_embeddings", "load_metadata", "validate_embeddings", "read_members"]


@dataclass
class EmbeddingSet:
    """Trailer embeddings with their ids and optional metadata.

    Attributes
    ----------
    ids : ndarray of shape (n_trailers,)
        Unique trailer ids (str).
    vectors : ndarray of shape (n_trailers, dim)
        float32 embeddings, finite, no zero rows.
    metadata : DataFrame or None
        Indexed like ``ids`` (same order), columns such as ``title``,
        ``display_title``, ``year``, ``genres`` (list of str).
    name : str
        Short name shown in the app.
    path : Path or None
        File the vectors were read from.
    generated : bool
        True when the vectors were computed from generated expert features.
    source : str
        How the file was made.
    untrained : bool
        True when the expert features came from untrained (random) backbones.
    """

    ids: np.ndarray
    vectors: np.ndarray
    metadata: pd.DataFrame | None = None
    name: str = "embeddings"
    path: Path | None = None
    generated: bool = False
    source: str = ""
    untrained: bool = False
    _hash: str | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def content_hash(self) -> str:
        """Hash of ids and vectors: the cache key of everything computed from this set."""
        if self._hash is None:
            self._hash = array_hash(self.ids, self.vectors)
        return self._hash

    def __contains__(self, trailer_id: object) -> bool:
        """True when ``trailer_id`` (str) is one of the set's ids: ``"Alien" in emb``."""
        return str(trailer_id) in self._rows

    def index_of(self, trailer_id: str) -> int:
        """Row of ``trailer_id``; unknown ids raise :class:`MMXError`."""
        if trailer_id not in self._rows:
            raise MMXError(f"unknown trailer id {trailer_id!r}; it is not among the {len(self)} ids", self.path)
        return self._rows[trailer_id]

    @functools.cached_property
    def _rows(self) -> dict[str, int]:
        return {str(t): i for i, t in enumerate(self.ids)}

    def normalized(self) -> np.ndarray:
        """Rows scaled to unit L2 norm (float32), for cosine similarity."""
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return (self.vectors / norms).astype(np.float32, copy=False)

    def subset(self, rows: np.ndarray) -> "EmbeddingSet":
        """A new set with the given rows (in that order)."""
        rows = np.asarray(rows)
        meta = None if self.metadata is None else self.metadata.iloc[rows].reset_index(drop=True)
        return replace(self, ids=self.ids[rows], vectors=self.vectors[rows], metadata=meta, _hash=None)


def validate_embeddings(ids: np.ndarray, vectors: np.ndarray, path: str | Path | None = None) -> None:
    """Raise :class:`MMXError` naming ``path`` and the problem for bad embeddings."""
    if vectors.ndim != 2:
        raise MMXError(f"embeddings must be a 2-D array (n_trailers, dim), got shape {vectors.shape}; "
                       "save one row per trailer", path)
    if ids.ndim != 1 or len(ids) != len(vectors):
        raise MMXError(f"ids has shape {ids.shape} but embeddings has {len(vectors)} rows; give one id per row", path)
    if len(ids) == 0:
        raise MMXError("the embeddings file holds no trailers", path)
    if not np.issubdtype(vectors.dtype, np.floating):
        raise MMXError(f"embeddings must be floating point, got {vectors.dtype}", path)
    if (bad := np.flatnonzero(~np.isfinite(vectors).all(axis=1))).size:
        raise MMXError(f"{len(bad)} rows hold NaN or Inf (first: row {bad[0]}, id {str(ids[bad[0]])!r}); "
                       "remove or recompute them", path)
    if (bad := np.flatnonzero(~np.any(vectors != 0, axis=1))).size:
        raise MMXError(f"{len(bad)} rows are all zeros, so their cosine similarity is undefined "
                       f"(first: row {bad[0]}, id {str(ids[bad[0]])!r}); remove them", path)
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = unique[counts > 1]
        raise MMXError(f"{len(dup)} ids occur more than once (e.g. {str(dup[0])!r}); ids must be unique", path)


def load_embeddings(path: str | Path, metadata: pd.DataFrame | str | Path | None = None,
                    name: str | None = None) -> EmbeddingSet:
    """Read and validate an embeddings file.

    Parameters
    ----------
    path : str or Path
        ``.npz`` file with ``embeddings`` and ``ids``.
    metadata : DataFrame, path or None
        Trailer table joined by ``id`` (see :func:`load_metadata`).
    name : str, optional
        Name shown in the app; defaults to the file stem.
    """
    path = regular_file(path, "embeddings file")
    check_npz(path, "embeddings file", MAX_ARRAY_BYTES)  # every member's header, before anything is loaded
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = set(archive.files)
            missing = {"embeddings", "ids"} - keys
            if missing:
                raise MMXError(f"missing array(s) {sorted(missing)} (found {sorted(keys)}); an embeddings file "
                               "needs 'embeddings' (n_trailers x dim) and 'ids'", path)
            vectors, ids, generated, source, untrained = read_members(archive, keys)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, TypeError, RuntimeError, NotImplementedError) as exc:
        raise MMXError(f"cannot read as an .npz archive without pickle ({str(exc)[:160]})", path) from None
    validate_embeddings(ids, vectors, path)
    vectors = vectors.astype(np.float32, copy=False)
    if metadata is not None and not isinstance(metadata, pd.DataFrame):
        metadata = load_metadata(metadata)
    meta = None if metadata is None else join_metadata(ids, metadata, path)
    return EmbeddingSet(ids, vectors, meta, name or path.stem, path, generated, source, untrained)


def _flag(archive, keys, name: str) -> bool:
    value = archive[name] if name in keys else np.bool_(False)
    if value.size != 1 or value.dtype.kind not in "biu":
        raise ValueError(f"'{name}' must be one true/false value, got {value.dtype} of shape {value.shape}")
    return bool(value.reshape(()))


def read_members(archive, keys) -> tuple[np.ndarray, np.ndarray, bool, str, bool]:
    """``embeddings``, ``ids`` (as str), ``generated``, ``source`` and ``untrained`` of an opened archive."""
    vectors, ids = archive["embeddings"], archive["ids"]
    if ids.dtype.kind not in "USiu" or ids.ndim != 1:
        raise ValueError(f"'ids' must be a 1-D array of text or integers, got {ids.dtype} of shape {ids.shape}")
    ids = ids.astype(str)
    source = archive["source"] if "source" in keys else np.str_("")
    if source.size != 1 or source.dtype.kind not in "US":
        raise ValueError(f"'source' must be one text value, got {source.dtype} of shape {source.shape}")
    return vectors, ids, _flag(archive, keys, "generated"), str(source.reshape(())), _flag(archive, keys, "untrained")


def save_embeddings(path: str | Path, ids: np.ndarray, vectors: np.ndarray, generated: bool = False, source: str = "",
                    dtype: str = "float32", untrained: bool = False) -> Path:
    """Validate and write an embeddings file atomically; returns ``path``."""
    ids, vectors = np.asarray(ids).astype(str), np.asarray(vectors)
    validate_embeddings(ids, vectors, path)
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, embeddings=vectors.astype(dtype), ids=ids, generated=np.bool_(generated),
                            source=np.str_(source), untrained=np.bool_(untrained))
    return Path(path)


def load_metadata(path: str | Path) -> pd.DataFrame:
    """Read a trailer table (.parquet or .csv) with at least an ``id`` column.

    ``genres`` given as ``A|B|C`` strings (CSV) become lists; a ``display_title``
    column is added from ``title`` when absent.
    """
    path = regular_file(path, "metadata file")
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype={"id": str, "title": str}, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise MMXError(f"cannot read the trailer table ({exc})", path) from None
    if "id" not in table.columns:
        raise MMXError(f"the trailer table has no 'id' column (columns: {list(table.columns)})", path)
    table["id"] = table["id"].astype(str)
    if "genres" in table.columns:
        table["genres"] = [_as_genre_list(g) for g in table["genres"]]
    if "title" not in table.columns:
        table["title"] = table["id"]
    if "display_title" not in table.columns:
        table["display_title"] = display_titles(table["title"])
    return table


def _as_genre_list(value) -> list[str]:
    if isinstance(value, str):
        return [g for g in value.split("|") if g]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(g) for g in value]


def join_metadata(ids: np.ndarray, table: pd.DataFrame, path: str | Path | None = None) -> pd.DataFrame:
    """Rows of ``table`` in the order of ``ids``; ids absent from the table get empty metadata."""
    if table["id"].duplicated().any():
        dup = table.loc[table["id"].duplicated(), "id"].iloc[0]
        raise MMXError(f"the trailer table repeats id {dup!r}; ids must be unique", path)
    joined = table.set_index("id").reindex(pd.Index(ids, name="id")).reset_index()
    if "genres" in joined.columns:
        joined["genres"] = [g if isinstance(g, list) else list(g) if isinstance(g, np.ndarray) else [] for g in joined["genres"]]
    for column in {"title", "display_title"} & set(joined.columns):
        joined[column] = joined[column].fillna(joined["id"])
    return joined
