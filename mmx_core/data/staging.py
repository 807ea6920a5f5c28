"""Files of a data set being built: the staging folder, its scratch files, the .npy header, the finished files.

A set is built in ``.<name>.partial`` beside its destination (:func:`mmx_core.base.output_writer.stage_dir`). Features are
appended to ``features.npy`` files whose fixed-size header is rewritten with the
final shape at the end; counts and trailer rows go to scratch files that
:func:`finish_stage` turns into the offsets arrays and the trailer table
before :func:`mmx_core.base.output_writer.swap_in` renames the folder onto the destination.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import atomic_path
from mmx_core.base.errors import MMXError
from mmx_core.base.locks import LOCK_NAME as _LOCK_NAME
from mmx_core.data.manifest import ExpertSpec

__all__ = ["NPY_HEADER_BYTES", "PROGRESS", "ROWS", "SEQ_COUNTS", "CLIP_COUNTS", "write_npy_header",
           "open_stage", "finish_stage", "plain_row", "rows_table", "counts_to_offsets"]

NPY_HEADER_BYTES = 128
PROGRESS = "progress.json"
ROWS = "rows.jsonl"
SEQ_COUNTS = "index/sequence_counts.bin"
CLIP_COUNTS = "index/clip_counts.bin"


def write_npy_header(handle, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    """Write a ``.npy`` version 1.0 header of exactly :data:`NPY_HEADER_BYTES` bytes at the file start."""
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    text = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (descr, tuple(int(s) for s in shape))
    body_len = NPY_HEADER_BYTES - 10
    if len(text) + 1 > body_len:
        raise MMXError(f"array shape {shape} too large for the reserved .npy header")
    header = b"\x93NUMPY\x01\x00" + body_len.to_bytes(2, "little") + (text.ljust(body_len - 1) + "\n").encode("latin1")
    handle.seek(0)
    handle.write(header)


def open_stage(stage: Path, experts: Mapping[str, ExpertSpec], dtype: np.dtype, identity: dict[str, Any],
               resume: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open the scratch files of a build, cut back to their last committed sizes.

    Returns the open handles (keys ``rows``, ``seq``, ``clip``, ``features:<expert>``, ``frames:<expert>``)
    and the committed progress (counts, sizes, ids; all zero for a new build). Resuming a build whose
    ``identity`` differs raises :class:`MMXError`; without ``resume`` (or with nothing to resume) the
    staging folder starts empty.
    """
    progress_path, progress = stage / PROGRESS, None
    if resume and progress_path.exists():
        try:
            progress = json.loads(progress_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise MMXError("the unfinished build's progress file is damaged; delete the folder and start again",
                           progress_path) from None
        if progress.get("identity") != identity:
            raise MMXError("an unfinished build with other parameters is here; run again with --restart to discard it",
                           stage)
    if progress is None:
        # a new build: empty the staging folder but for its writer lock (whose holder is the caller)
        for child in stage.iterdir() if stage.exists() else ():
            if child.is_dir() and not child.is_symlink() and child.name != _LOCK_NAME:
                shutil.rmtree(child)
            elif child.name != _LOCK_NAME:
                child.unlink()
        progress = {"trailers": 0, "sequences": 0, "clips": 0, "frames": {n: 0 for n in experts}, "sizes": {}, "ids": []}
    files, paths = {}, {"rows": stage / ROWS, "seq": stage / SEQ_COUNTS, "clip": stage / CLIP_COUNTS}
    for name in experts:
        paths[f"features:{name}"] = stage / "experts" / name / "features.npy"
        paths[f"frames:{name}"] = stage / "experts" / name / "frame_counts.bin"
    for key, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "r+b" if path.exists() else "w+b")  # read-write, created when absent
        size = progress["sizes"].get(key, NPY_HEADER_BYTES if key.startswith("features:") else 0)
        handle.truncate(size)
        if key.startswith("features:") and size == NPY_HEADER_BYTES:
            write_npy_header(handle, dtype, (0, experts[key.split(":", 1)[1]].dim))
        handle.seek(size)
        files[key] = handle
    return files, progress


def finish_stage(stage: Path, experts: Mapping[str, ExpertSpec]) -> None:
    """Turn the scratch counts into offsets arrays and the rows into ``trailers.parquet``; delete the scratch."""
    offsets = {SEQ_COUNTS: "index/sequence_offsets.npy", CLIP_COUNTS: "index/clip_offsets.npy"}
    offsets.update({f"experts/{name}/frame_counts.bin": f"experts/{name}/frame_offsets.npy" for name in experts})
    for counts, target in offsets.items():
        counts_to_offsets(stage / counts, stage / target)
    table = rows_table([json.loads(line) for line in (stage / ROWS).read_text().splitlines()])
    with atomic_path(stage / "trailers.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    for scratch in (ROWS, *offsets, PROGRESS):
        (stage / scratch).unlink()


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A trailer row as the JSON-plain line kept in ``rows.jsonl``."""
    out = {
        "id": str(row["id"]),
        "title": str(row.get("title", row["id"])),
        "year": None if row.get("year") is None or pd.isna(row.get("year")) else int(row["year"]),
        "genres": [str(g) for g in row["genres"]],
        "split": str(row["split"]),
    }
    if row.get("subgenre") is not None:
        out["subgenre"] = str(row["subgenre"])
    return out


def rows_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The trailer table (``trailers.parquet``) of the rows, with the format's column dtypes."""
    table = pd.DataFrame({
        "id": pd.array([r["id"] for r in rows], dtype="string"),
        "title": pd.array([r["title"] for r in rows], dtype="string"),
        "year": pd.array([r["year"] for r in rows], dtype="Int64"),
        "genres": [r["genres"] for r in rows],
        "split": pd.array([r["split"] for r in rows], dtype="string"),
    })
    if any("subgenre" in r for r in rows):
        table["subgenre"] = pd.array([r.get("subgenre") for r in rows], dtype="string")
    return table


def counts_to_offsets(counts_path: Path, offsets_path: Path) -> None:
    """Write the offsets array (0, cumulative sums) of a scratch file of int64 counts."""
    counts = np.fromfile(counts_path, dtype="<i8")
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    with atomic_path(offsets_path) as tmp:
        np.save(tmp, offsets)
