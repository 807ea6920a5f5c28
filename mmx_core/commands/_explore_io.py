"""Helpers shared by the exploration commands (project, cluster, neighbours, compare)."""

from __future__ import annotations

import shutil
from pathlib import Path

from mmx_core.base.artefacts import atomic_path, read_json, write_json
from mmx_core.base.embeddings import EmbeddingSet, load_embeddings


def load_set(path: str, metadata: str | None = None) -> EmbeddingSet:
    """Read an embeddings file with its trailer table.

    The table is ``--metadata`` when given, else ``trailers.parquet`` beside the file,
    else the bundled published table (ids it lacks get empty metadata).
    """
    path_obj = Path(path)
    if metadata is None and (path_obj.parent / "trailers.parquet").exists():
        metadata = str(path_obj.parent / "trailers.parquet")
    if metadata is None:
        from mmx_core.base.assets import PUBLISHED_TRAILERS, published_metadata

        return load_embeddings(path_obj, metadata=published_metadata() if PUBLISHED_TRAILERS.exists() else None)
    return load_embeddings(path_obj, metadata=metadata)


def add_embeddings_args(parser) -> None:
    parser.add_argument("--embeddings", required=True, metavar="FILE", help="embeddings .npz (ids + embeddings)")
    parser.add_argument("--metadata", default=None, metavar="FILE",
                        help="trailer table (.parquet/.csv); default: trailers.parquet beside FILE, else the "
                             "published table")


def copy_artefact(cached: Path, out: str, extra: dict | None = None) -> Path:
    """Copy a cached artefact to ``out`` (atomically) with its parameter JSON beside it."""
    out_path = Path(out)
    with atomic_path(out_path) as tmp:
        shutil.copyfile(cached, tmp)
    record = read_json(Path(str(cached) + ".json"))
    record["artefact"] = out_path.name
    record["cached"] = str(cached)
    if extra:
        record.update(extra)
    write_json(Path(str(out_path) + ".json"), record)
    return out_path
