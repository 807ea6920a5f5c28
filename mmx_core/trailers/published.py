"""The bundled real data: the 7,594 trailer embeddings published by the paper's authors.

``assets/published/`` holds them in the project's embeddings file format
(float16 on disk, float32 in memory), the trailer table as parquet and the
thumbnails as one zip archive. ``python -m mmx_core bundle-published`` makes
them from ``../shared/datasets/mmx-published``.
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import atomic_path, file_hash, write_json
from mmx_core.trailers.embeddings import EmbeddingSet, load_embeddings, load_metadata, save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.base.outputs import PUBLISHED, check_output
from mmx_core.base.paths import ASSETS_DIR, display_path

PUBLISHED_DIR = ASSETS_DIR / "published"
PUBLISHED_EMBEDDINGS = PUBLISHED_DIR / "embeddings.npz"
PUBLISHED_TRAILERS = PUBLISHED_DIR / "trailers.parquet"
PUBLISHED_THUMBNAILS = PUBLISHED_DIR / "thumbnails.zip"


def load_published() -> EmbeddingSet:
    """The published embeddings with their metadata (title, display_title, year, genres, thumbnail)."""
    return load_embeddings(PUBLISHED_EMBEDDINGS, metadata=published_metadata(), name="published")


@functools.lru_cache(maxsize=1)
def published_metadata() -> pd.DataFrame:
    """Trailer table of the published set (cached per process)."""
    return load_metadata(PUBLISHED_TRAILERS)


class ThumbnailArchive:
    """Read thumbnails from a zip archive by file name, opened once.

    Parameters
    ----------
    path : str or Path
        A zip of JPEG files.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise MMXError("thumbnail archive not found", self.path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise MMXError(f"not a zip archive ({exc})", self.path) from None
        self.names_ = frozenset(self._zip.namelist())

    def read(self, name: str) -> bytes | None:
        """Bytes of ``name``, or None when the archive has no such file."""
        return self._zip.read(name) if name in self.names_ else None


@functools.lru_cache(maxsize=4)
def thumbnail_archive(path: str | Path = PUBLISHED_THUMBNAILS) -> ThumbnailArchive:
    return ThumbnailArchive(path)


def bundle_published(source: str | Path, out: str | Path = PUBLISHED_DIR) -> dict:
    """Copy the published data set from ``source`` into ``out`` in the project's formats.

    Writes ``embeddings.npz`` (float16), ``trailers.parquet`` (with ``display_title``
    and ``genres`` as lists) and ``thumbnails.zip``, each atomically, plus
    ``bundle.json`` with the source files' hashes.
    """
    check_output(out, PUBLISHED, inputs=(source,))  # the output contract (mmx_core.base.outputs), before any work
    source, out = Path(source), Path(out)
    inputs = ("embeddings.npz", "trailers.csv", "thumbnails.zip")
    for name in inputs:
        if not (source / name).exists():
            raise MMXError(f"missing {name}; expected the mmx-published folder", source)
    published = load_embeddings(source / "embeddings.npz")
    table = load_metadata(source / "trailers.csv")
    if list(table["id"]) != list(published.ids):
        raise MMXError("trailers.csv rows are not in the order of embeddings.npz ids", source)
    save_embeddings(out / "embeddings.npz", published.ids, published.vectors, dtype="float16",
                    source="published by the paper's authors (ed-fish/semantic-video-visualiser)")
    table["year"] = pd.to_numeric(table["year"], errors="coerce").astype("Int64")
    with atomic_path(out / "trailers.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    with atomic_path(out / "thumbnails.zip") as tmp:
        tmp.write_bytes((source / "thumbnails.zip").read_bytes())
    record = {"source": display_path(source), "inputs": {name: file_hash(source / name) for name in inputs},
              "trailers": len(published), "dim": published.dim,
              "max_abs_float16_error": float(np.abs(published.vectors - published.vectors.astype(np.float16)).max())}
    write_json(out / "bundle.json", record)
    return record
