"""Streaming writer of trailer data sets, shared by the generator and the importer.

A data set is built in a staging folder beside its destination (:mod:`mmx_core.data.staging`) and renamed
onto the destination only when it is complete, so nothing half-written is ever visible as a finished data set.
:meth:`DatasetWriter.commit` records the committed sizes of all the staging files in ``progress.json``
(atomically), so an interrupted writer can be reopened with ``resume=True``: every file is cut back to its
last committed size and writing continues after the last committed trailer. Each batch is checked
(:mod:`mmx_core.data.batch_checks`) before any of it is written.
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

from mmx_core.base.artefacts import write_json
from mmx_core.base.errors import MMXError
from mmx_core.base.output_writer import stage_dir, swap_in
from mmx_core.base.outputs import DATASET, check_output
from mmx_core.data.batch_checks import check_batch
from mmx_core.data.manifest import DTYPES, ExpertSpec, Manifest, write_manifest
from mmx_core.data.staging import PROGRESS, finish_stage, open_stage, plain_row, write_npy_header

__all__ = ["DatasetWriter"]

log = logging.getLogger(__name__)


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

    def __init__(self, out: str | Path, genres: Sequence[str], experts: Mapping[str, ExpertSpec],
                 clips_per_sequence: int = 9, *, dtype: str = "float16", generated: bool = False,
                 generator: dict[str, Any] | None = None, source: str = "", resume: bool = False,
                 overwrite: bool = False, extraction: dict[str, Any] | None = None):
        self.out = Path(out)
        if dtype not in DTYPES:
            raise MMXError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
        check_output(self.out, DATASET, overwrite=overwrite)
        self.genres = list(genres)
        self.experts = dict(experts)
        self.clips_per_sequence = int(clips_per_sequence)
        self.dtype = np.dtype(dtype)
        self.generated = bool(generated)
        self.generator = json.loads(json.dumps(generator or {}, default=str))
        self.source = source
        self.extraction = None if extraction is None else json.loads(json.dumps(extraction, default=str))
        self.stage = stage_dir(self.out)
        self._genre_set = set(self.genres)
        self._files, progress = open_stage(self.stage, self.experts, self.dtype, self._identity(), resume)
        if progress["trailers"]:
            log.info("resuming %s after %d committed trailers", self.out, progress["trailers"])
        self.n_trailers, self.n_sequences, self.n_clips = progress["trailers"], progress["sequences"], progress["clips"]
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

    # ------------------------------------------------------------------ adding
    def add_trailer(self, row: dict[str, Any], clip_counts: np.ndarray,
                    features: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
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

    def add_trailers(self, rows: Sequence[dict[str, Any]], sequence_counts: np.ndarray, clip_counts: np.ndarray,
                     features: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Append a batch of trailers (vectorised form of :meth:`add_trailer`).

        Parameters
        ----------
        rows : sequence of dict
            One metadata row per trailer (see :meth:`add_trailer`).
        sequence_counts : ndarray of shape (n_trailers,)
            Sequences of each trailer (>= 1).
        clip_counts, features
            As in :meth:`add_trailer`, over all the trailers' sequences and clips in order.
        """
        sequence_counts = np.asarray(sequence_counts, dtype=np.int64)
        clip_counts = np.asarray(clip_counts, dtype=np.int64)
        converted = check_batch(rows, sequence_counts, clip_counts, features, experts=self.experts,
                                clips_per_sequence=self.clips_per_sequence, dtype=self.dtype, genres=self._genre_set,
                                done_ids=self.done_ids, out=self.out)
        for name, (_, frame_counts) in features.items():
            data = converted[name]
            self._files[f"features:{name}"].write(data.tobytes())
            self._files[f"frames:{name}"].write(np.asarray(frame_counts, dtype="<i8").tobytes())
            self.n_frames[name] += len(data)
        self._files["seq"].write(sequence_counts.astype("<i8").tobytes())
        self._files["clip"].write(clip_counts.astype("<i8").tobytes())
        text = "".join(json.dumps(plain_row(r)) + "\n" for r in rows)
        self._files["rows"].write(text.encode())
        self.n_trailers += len(rows)
        self.n_sequences += len(clip_counts)
        self.n_clips += int(clip_counts.sum())
        self.done_ids.update(str(r["id"]) for r in rows)

    # ------------------------------------------------------------------ commit / finish
    def commit(self) -> None:
        """Make everything added so far durable and record it in ``progress.json``."""
        sizes = {}
        for key, handle in self._files.items():
            handle.flush()
            os.fsync(handle.fileno())
            sizes[key] = handle.tell()
        write_json(self.stage / PROGRESS, {
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
        finish_stage(self.stage, self.experts)
        generator = {**self.generator, **json.loads(json.dumps(extra or {}, default=str))}
        manifest = Manifest(
            genres=self.genres, experts=self.experts, clips_per_sequence=self.clips_per_sequence,
            dtype=str(self.dtype), generated=self.generated, generator=generator, source=self.source,
            counts={"trailers": self.n_trailers, "sequences": self.n_sequences, "clips": self.n_clips,
                    "frames": dict(self.n_frames)},
            extraction=self.extraction,
        )
        for name, obj in (extra_files or {}).items():
            write_json(self.stage / name, obj)
        write_manifest(self.stage, manifest)
        swap_in(self.stage, self.out)
        log.info("wrote %s: %d trailers, %d clips", self.out, self.n_trailers, self.n_clips)
        return self.out
