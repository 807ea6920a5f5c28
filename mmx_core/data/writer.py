"""Streaming writer of trailer data sets, shared by the generator and the importer.

A data set is built in a staging folder beside its destination
(``.<name>.partial``) and renamed onto the destination only when it is
complete, so nothing half-written is ever visible as a finished data set.
Features are appended to ``features.npy`` files whose header is rewritten with
the final shape at the end; the per-clip / per-sequence / per-trailer counts
and the trailer rows are appended to scratch files. :meth:`DatasetWriter.commit`
records the committed sizes of all of them in ``progress.json`` (atomically),
so an interrupted writer can be reopened with ``resume=True``: every file is
cut back to its last committed size and writing continues after the last
committed trailer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import atomic_path, write_json
from mmx_core.base.errors import MMXError
from mmx_core.data.manifest import DTYPES, SPLITS, ExpertSpec, Manifest, write_manifest

__all__ = ["DatasetWriter", "staging_dir", "write_npy_header", "NPY_HEADER_BYTES"]

log = logging.getLogger(__name__)

NPY_HEADER_BYTES = 128
_PROGRESS = "progress.json"
_ROWS = "rows.jsonl"
_SEQ_COUNTS = "index/sequence_counts.bin"
_CLIP_COUNTS = "index/clip_counts.bin"


def staging_dir(out: str | Path) -> Path:
    """The folder a data set for ``out`` is built in before it is renamed onto ``out``."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


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


class DatasetWriter:
    """Append trailers to a new data set; :meth:`finish` makes it visible at ``out``.

    Parameters
    ----------
    out : str or Path
        Destination folder of the data set.
    genres : sequence of str
        Genre vocabulary written to the manifest.
    experts : mapping of str to ExpertSpec
        Experts and their dims, in order.
    clips_per_sequence : int
        The most clips a sequence may hold (C).
    dtype : {"float16", "float32"}
        On-disk dtype of the features.
    generated : bool
        True when the features are generated.
    generator : dict
        Command and parameters that made the set (written to the manifest);
        when resuming, they must equal those of the interrupted run.
    source : str
        Free text on where the data comes from.
    resume : bool
        Continue an interrupted build of ``out`` (its staging folder) instead
        of starting over.
    overwrite : bool
        Replace an existing finished data set at ``out`` on :meth:`finish`.
    extraction : dict, optional
        The manifest's ``extraction`` block (sets extracted from video).

    Attributes
    ----------
    done_ids : set of str
        Ids of the trailers committed so far (after a resume: those already written).
    n_trailers : int
        Trailers added so far.
    """

    def __init__(
        self,
        out: str | Path,
        genres: Sequence[str],
        experts: Mapping[str, ExpertSpec],
        clips_per_sequence: int = 9,
        *,
        dtype: str = "float16",
        generated: bool = False,
        generator: dict[str, Any] | None = None,
        source: str = "",
        resume: bool = False,
        overwrite: bool = False,
        extraction: dict[str, Any] | None = None,
    ):
        self.out = Path(out)
        if dtype not in DTYPES:
            raise MMXError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
        if self.out.exists() and not overwrite:
            raise MMXError("already exists; choose another --out or pass --overwrite to replace it", self.out)
        self.genres = list(genres)
        self.experts = dict(experts)
        self.clips_per_sequence = int(clips_per_sequence)
        self.dtype = np.dtype(dtype)
        self.generated = bool(generated)
        self.generator = json.loads(json.dumps(generator or {}, default=str))
        self.source = source
        self.overwrite = overwrite
        self.extraction = None if extraction is None else json.loads(json.dumps(extraction, default=str))
        self.stage = staging_dir(self.out)
        self._files: dict[str, Any] = {}
        self._genre_set = set(self.genres)
        progress = self._open_stage(resume)
        self.n_trailers = progress["trailers"]
        self.n_sequences = progress["sequences"]
        self.n_clips = progress["clips"]
        self.n_frames = dict(progress["frames"])
        self.done_ids = set(progress.get("ids", []))
        self._last_commit = time.monotonic()

    # ------------------------------------------------------------------ staging
    def _identity(self) -> dict[str, Any]:
        return {
            "genres": self.genres,
            "experts": {k: v.to_dict() for k, v in self.experts.items()},
            "clips_per_sequence": self.clips_per_sequence,
            "dtype": str(self.dtype),
            # the command line may differ in options that do not change the data (e.g. --show, --strict)
            "generator": {k: v for k, v in self.generator.items() if k != "command"},
        }

    def _paths(self) -> dict[str, Path]:
        paths = {"rows": self.stage / _ROWS, "seq": self.stage / _SEQ_COUNTS, "clip": self.stage / _CLIP_COUNTS}
        for name in self.experts:
            paths[f"features:{name}"] = self.stage / "experts" / name / "features.npy"
            paths[f"frames:{name}"] = self.stage / "experts" / name / "frame_counts.bin"
        return paths

    def _open_stage(self, resume: bool) -> dict[str, Any]:
        progress_path = self.stage / _PROGRESS
        empty = {"trailers": 0, "sequences": 0, "clips": 0, "frames": {n: 0 for n in self.experts},
                 "sizes": {}, "ids": []}
        progress = None
        if resume and progress_path.exists():
            try:
                progress = json.loads(progress_path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise MMXError("the unfinished build's progress file is damaged; delete the folder and start again",
                               progress_path) from None
            if progress.get("identity") != self._identity():
                raise MMXError(
                    "an unfinished build with other parameters is here; run again with --restart to discard it",
                    self.stage)
        if progress is None:
            if self.stage.exists():
                shutil.rmtree(self.stage)
            progress = empty
        paths = self._paths()
        for key, path in paths.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.touch()
            handle = open(path, "r+b")
            size = progress["sizes"].get(key, NPY_HEADER_BYTES if key.startswith("features:") else 0)
            handle.truncate(size)
            if key.startswith("features:") and size == NPY_HEADER_BYTES:
                write_npy_header(handle, self.dtype, (0, self.experts[key.split(":", 1)[1]].dim))
            handle.seek(size)
            self._files[key] = handle
        if progress["trailers"]:
            log.info("resuming %s after %d committed trailers", self.out, progress["trailers"])
        return progress

    # ------------------------------------------------------------------ adding
    def add_trailer(
        self,
        row: dict[str, Any],
        clip_counts: np.ndarray,
        features: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Append one trailer.

        Parameters
        ----------
        row : dict
            ``id``, ``title``, ``year``, ``genres`` (list of str), ``split`` and
            optionally ``subgenre``.
        clip_counts : ndarray of shape (n_sequences,)
            Clips of each of the trailer's sequences (1..C).
        features : dict of str to (ndarray of shape (n_frames, D), ndarray of shape (n_clips,))
            Per expert: the frames of all its clips in clip order and the
            frame count of each clip (0 = missing for that clip).
        """
        self.add_trailers([row], np.array([len(clip_counts)]), clip_counts, features)

    def add_trailers(
        self,
        rows: Sequence[dict[str, Any]],
        sequence_counts: np.ndarray,
        clip_counts: np.ndarray,
        features: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ) -> None:
        """Append a batch of trailers (vectorised form of :meth:`add_trailer`).

        Parameters
        ----------
        rows : sequence of dict
            One metadata row per trailer (see :meth:`add_trailer`).
        sequence_counts : ndarray of shape (n_trailers,)
            Sequences of each trailer (>= 1).
        clip_counts : ndarray of shape (n_sequences,)
            Clips of each sequence, trailers in order (1..C).
        features : dict of str to (ndarray of shape (n_frames, D), ndarray of shape (n_clips,))
            Per expert: frames and the frame count of each clip.
        """
        sequence_counts = np.asarray(sequence_counts, dtype=np.int64)
        clip_counts = np.asarray(clip_counts, dtype=np.int64)
        if len(sequence_counts) != len(rows) or sequence_counts.sum() != len(clip_counts):
            raise MMXError(f"{len(rows)} rows, {len(sequence_counts)} sequence counts summing to "
                           f"{sequence_counts.sum()} and {len(clip_counts)} clip counts do not match", self.out)
        if (sequence_counts < 1).any():
            bad = rows[int(np.flatnonzero(sequence_counts < 1)[0])].get("id")
            raise MMXError(f"trailer {bad!r} has no sequence; every trailer needs at least one", self.out)
        if ((clip_counts < 1) | (clip_counts > self.clips_per_sequence)).any():
            raise MMXError(f"a sequence must hold 1..{self.clips_per_sequence} clips, "
                           f"got {clip_counts.min()}..{clip_counts.max()}", self.out)
        if set(features) != set(self.experts):
            raise MMXError(f"features given for {sorted(features)} but the data set has experts "
                           f"{sorted(self.experts)}", self.out)
        for row in rows:
            self._check_row(row)
        n_clips = int(clip_counts.sum())
        for name, (frames, frame_counts) in features.items():
            spec = self.experts[name]
            frame_counts = np.asarray(frame_counts, dtype=np.int64)
            if frames.ndim != 2 or frames.shape[1] != spec.dim:
                raise MMXError(f"expert {name!r}: frames must have shape (n_frames, {spec.dim}), "
                               f"got {frames.shape}", self.out)
            if len(frame_counts) != n_clips or frame_counts.sum() != len(frames) or (frame_counts < 0).any():
                raise MMXError(f"expert {name!r}: {len(frame_counts)} frame counts summing to {frame_counts.sum()} "
                               f"for {n_clips} clips and {len(frames)} frames", self.out)
            if spec.temporal == "pooled" and (frame_counts > 1).any():
                raise MMXError(f"expert {name!r} is pooled: a clip holds at most one frame", self.out)
        converted = {}
        for name, (frames, _) in features.items():  # convert and check all before writing any
            with np.errstate(over="ignore", invalid="ignore"):
                data = np.ascontiguousarray(frames, dtype=self.dtype)
            if not np.isfinite(data).all():
                bad = rows[0].get("id") if len(rows) == 1 else f"{rows[0].get('id')}..{rows[-1].get('id')}"
                raise MMXError(f"expert {name!r} of trailer(s) {bad}: features hold NaN/Inf "
                               f"(or overflow {self.dtype})", self.out)
            converted[name] = data
        for name, (_, frame_counts) in features.items():
            data = converted[name]
            self._files[f"features:{name}"].write(data.tobytes())
            self._files[f"frames:{name}"].write(np.asarray(frame_counts, dtype="<i8").tobytes())
            self.n_frames[name] += len(data)
        self._files["seq"].write(sequence_counts.astype("<i8").tobytes())
        self._files["clip"].write(clip_counts.astype("<i8").tobytes())
        text = "".join(json.dumps(_plain_row(r)) + "\n" for r in rows)
        self._files["rows"].write(text.encode())
        self.n_trailers += len(rows)
        self.n_sequences += len(clip_counts)
        self.n_clips += n_clips
        self.done_ids.update(str(r["id"]) for r in rows)

    def _check_row(self, row: dict[str, Any]) -> None:
        for key in ("id", "genres", "split"):
            if key not in row:
                raise MMXError(f"trailer row {row!r:.80} lacks {key!r}", self.out)
        if str(row["id"]) in self.done_ids:
            raise MMXError(f"trailer id {row['id']!r} is written twice; ids must be unique", self.out)
        unknown = set(row["genres"]) - self._genre_set
        if unknown:
            raise MMXError(f"trailer {row['id']!r}: genres {sorted(unknown)} are not in the vocabulary", self.out)
        if row["split"] not in SPLITS:
            raise MMXError(f"trailer {row['id']!r}: split {row['split']!r} is not one of {list(SPLITS)}", self.out)

    # ------------------------------------------------------------------ commit / finish
    def commit(self) -> None:
        """Make everything added so far durable and record it in ``progress.json``."""
        sizes = {}
        for key, handle in self._files.items():
            handle.flush()
            os.fsync(handle.fileno())
            sizes[key] = handle.tell()
        write_json(self.stage / _PROGRESS, {
            "identity": self._identity(), "trailers": self.n_trailers, "sequences": self.n_sequences,
            "clips": self.n_clips, "frames": self.n_frames, "sizes": sizes, "ids": sorted(self.done_ids),
        })
        self._last_commit = time.monotonic()

    def maybe_commit(self, every_seconds: float = 5.0) -> None:
        """:meth:`commit` when the last commit is older than ``every_seconds``."""
        if time.monotonic() - self._last_commit >= every_seconds:
            self.commit()

    def close(self) -> None:
        """Close the open files (the staging folder stays, for a resume)."""
        for handle in self._files.values():
            with contextlib.suppress(OSError):
                handle.close()
        self._files = {}

    def abort(self) -> None:
        """Close and delete the staging folder (for writers that cannot resume, e.g. the generator)."""
        self.close()
        shutil.rmtree(self.stage, ignore_errors=True)

    def finish(self, extra: dict[str, Any] | None = None, extra_files: dict[str, Any] | None = None) -> Path:
        """Write the index, trailer table and manifest, then rename the set onto ``out``.

        Parameters
        ----------
        extra : dict, optional
            More manifest fields under ``generator`` (e.g. import problem counts, timings).
        extra_files : dict of str to object, optional
            File name -> JSON-serialisable object written beside the manifest
            (e.g. ``import_report.json``).

        Returns
        -------
        Path
            ``out``.
        """
        if self.n_trailers == 0:
            self.close()
            raise MMXError("no trailer was written; the data set would be empty", self.out)
        self.commit()
        for name, spec in self.experts.items():
            write_npy_header(self._files[f"features:{name}"], self.dtype, (self.n_frames[name], spec.dim))
            self._files[f"features:{name}"].flush()
            os.fsync(self._files[f"features:{name}"].fileno())
        self.close()
        stage = self.stage
        _counts_to_offsets(stage / _SEQ_COUNTS, stage / "index" / "sequence_offsets.npy")
        _counts_to_offsets(stage / _CLIP_COUNTS, stage / "index" / "clip_offsets.npy")
        for name in self.experts:
            folder = stage / "experts" / name
            _counts_to_offsets(folder / "frame_counts.bin", folder / "frame_offsets.npy")
        rows = [json.loads(line) for line in (stage / _ROWS).read_text().splitlines()]
        table = _rows_table(rows)
        with atomic_path(stage / "trailers.parquet") as tmp:
            table.to_parquet(tmp, index=False)
        generator = dict(self.generator)
        if extra:
            generator.update(json.loads(json.dumps(extra, default=str)))
        manifest = Manifest(
            genres=self.genres, experts=self.experts, clips_per_sequence=self.clips_per_sequence,
            dtype=str(self.dtype), generated=self.generated, generator=generator, source=self.source,
            counts={"trailers": self.n_trailers, "sequences": self.n_sequences, "clips": self.n_clips,
                    "frames": dict(self.n_frames)},
            extraction=self.extraction,
        )
        for scratch in (_ROWS, _SEQ_COUNTS, _CLIP_COUNTS, _PROGRESS):
            (stage / scratch).unlink()
        for name in self.experts:
            (stage / "experts" / name / "frame_counts.bin").unlink()
        for name, obj in (extra_files or {}).items():
            write_json(stage / name, obj)
        write_manifest(stage, manifest)
        _replace_dir(stage, self.out)
        log.info("wrote %s: %d trailers, %d clips", self.out, self.n_trailers, self.n_clips)
        return self.out

    def __enter__(self) -> "DatasetWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
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


def _rows_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
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


def _counts_to_offsets(counts_path: Path, offsets_path: Path) -> None:
    counts = np.fromfile(counts_path, dtype="<i8")
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    with atomic_path(offsets_path) as tmp:
        np.save(tmp, offsets)


def _replace_dir(stage: Path, out: Path) -> None:
    """Rename ``stage`` onto ``out``; an existing ``out`` is moved aside first, then deleted."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(stage, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
