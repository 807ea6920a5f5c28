"""What the cached exploration steps share: artefact tables read once per file version, and a set's name in errors."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from mmx_core.trailers.embeddings import EmbeddingSet

__all__ = ["read_table", "clear_tables", "source_of"]


def source_of(emb_set: EmbeddingSet):
    """What errors about ``emb_set``'s vectors name: its file, or the set's name when it has none."""
    return emb_set.path if emb_set.path is not None else f"embeddings {emb_set.name!r}"


@functools.lru_cache(maxsize=64)
def _read_parquet_cached(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_parquet(path)


def read_table(path: Path) -> pd.DataFrame:
    """The parquet artefact at ``path``, kept in memory while the file is unchanged (copy it before editing)."""
    return _read_parquet_cached(str(path), path.stat().st_mtime)


def clear_tables() -> None:
    """Forget the tables kept in this process (the files on disk stay)."""
    _read_parquet_cached.cache_clear()
