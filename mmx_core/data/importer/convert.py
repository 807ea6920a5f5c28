"""Convert a tree of the authors' layout into a data set: the resumable import loop and its problem log.

See :mod:`mmx_core.data.importer` for the layout, the safety rules and how problems are reported.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError
from mmx_core.base.output_writer import output_lock
from mmx_core.base.outputs import DATASET, check_output
from mmx_core.base.progress import progress
from mmx_core.base.safeio import escape_control
from mmx_core.data.importer.tensors import read_trailer
from mmx_core.data.importer.tree import ImportProblems, TreeTrailer, scan_tree
from mmx_core.data.manifest import paper_experts, split_of
from mmx_core.data.writer import DatasetWriter

__all__ = ["import_mmx", "ImportResult"]

log = logging.getLogger(__name__)

_PROBLEMS = "import_problems.jsonl"


@dataclass
class ImportResult:
    """What :func:`import_mmx` did.

    Attributes
    ----------
    path : Path
        The data set written.
    trailers, clips : int
        Trailers and clips in the data set.
    skipped : int
        Trailers found in the tree but not imported (no usable clip).
    resumed : int
        Trailers already done by an interrupted run and not redone.
    problems : list of dict
        ``{"file", "row", "message"}``, files relative to the source root.
    """

    path: Path
    trailers: int
    clips: int
    skipped: int
    resumed: int
    problems: list[dict[str, Any]]


def import_mmx(src: str | Path, out: str | Path, *, dims: dict[str, int] | None = None, test_sampling: bool = False,
               clips_per_sequence: int = 9, restart: bool = False, overwrite: bool = False,
               commit_seconds: float = 5.0, stop_after: int | None = None, command: str | None = None) -> ImportResult:
    """Convert a tree of the authors' layout into a data set at ``out``.

    Parameters
    ----------
    src : str or Path
        Root of the tree (``<src>/<genre>/<trailer>/...``).
    out : str or Path
        Destination data set folder.
    dims : dict of str to int, optional
        Expected expert dims (default 2048/2048/512/128); tensors of another
        dim are reported and left out.
    test_sampling : bool
        Read the ``test-``-prefixed expert folders instead of the plain ones.
    clips_per_sequence : int
        C; a scene with more clips becomes several sequences of at most C.
    restart : bool
        Discard an interrupted import of ``out`` instead of resuming it.
    overwrite : bool
        Replace an existing data set at ``out``.
    commit_seconds : float
        Make progress durable at least this often.
    stop_after : int, optional
        Stop (as if interrupted) after importing this many new trailers;
        for tests of resuming.
    command : str, optional
        The command line, recorded in the manifest.

    Returns
    -------
    ImportResult
    """
    root = Path(src).resolve()
    if not root.is_dir():
        raise MMXError("source folder not found", src)
    out = Path(out)
    check_output(out, DATASET, inputs=(root,), overwrite=overwrite)
    with output_lock(out, "the import's staging folder"):
        return _import_locked(root, out, dims=dims, test_sampling=test_sampling,
                              clips_per_sequence=clips_per_sequence, restart=restart, overwrite=overwrite,
                              commit_seconds=commit_seconds, stop_after=stop_after, command=command)


def _import_locked(root: Path, out: Path, *, dims, test_sampling, clips_per_sequence, restart, overwrite,
                   commit_seconds, stop_after, command) -> ImportResult:
    """:func:`import_mmx` while holding the staging folder's writer lock."""
    experts = paper_experts(dims)
    problems = ImportProblems(root)
    trailers, vocab = scan_tree(root, problems)
    if not trailers:
        raise MMXError("no trailer folders found under the genre folders", root)
    params = {"command": command or "import-mmx", "step": "import-mmx", "source": str(root),
              "dims": {k: v.dim for k, v in experts.items()}, "test_sampling": test_sampling,
              "clips_per_sequence": clips_per_sequence}
    writer = DatasetWriter(out, vocab, experts, clips_per_sequence, generated=False, generator=params,
                           source=f"imported from the authors' layout at {root}", resume=not restart,
                           overwrite=overwrite)
    log_file = _ProblemLog(writer.stage / _PROBLEMS, set(writer.done_ids), list(problems.items))
    try:
        skipped = _add_trailers(trailers, writer, log_file, problems, stop_after, commit_seconds,
                                lambda t: read_trailer(t, experts, clips_per_sequence, test_sampling, problems))
        all_problems = log_file.scan_problems + log_file.kept
        log_file.file.unlink(missing_ok=True)  # scratch of the staging folder, not part of the set
        path = writer.finish(
            extra={"problems": len(all_problems), "skipped_trailers": skipped},
            extra_files={"import_report.json": {"source": escape_control(root), "problems": all_problems}},
        )
    finally:
        writer.close()
    return ImportResult(path=path, trailers=writer.n_trailers, clips=writer.n_clips, skipped=skipped,
                        resumed=len(log_file.done_before), problems=all_problems)


def _add_trailers(trailers: list[TreeTrailer], writer: DatasetWriter, log_file: _ProblemLog,
                  problems: ImportProblems, stop_after: int | None, commit_seconds: float,
                  read: Callable[[TreeTrailer], tuple | None]) -> int:
    """Read (``read``: :func:`read_trailer` with the import's settings) and write every trailer not done before;
    returns how many were skipped (no usable clip)."""
    skipped = written = 0
    for trailer in progress(trailers, "importing trailers"):
        if trailer.id in log_file.done_before:
            continue
        if stop_after is not None and written >= stop_after:
            writer.commit()
            raise KeyboardInterrupt
        problems.items = []
        result = read(trailer)
        if result is None:
            problems.add(trailer.copies[0][1], "trailer has no usable clip; skipped", trailer.id)
            skipped += 1
        else:
            clip_counts, features = result
            row = {"id": trailer.id, "title": trailer.id, "year": trailer.year, "genres": trailer.genres,
                   "split": split_of(trailer.id)}
            writer.add_trailer(row, clip_counts, features)
            written += 1
        log_file.record(problems.items, written=result is not None)
        writer.maybe_commit(commit_seconds)
    return skipped


class _ProblemLog:
    """Problems of the trailers written so far, kept in the staging folder so that a resumed import reports them.

    ``kept``: problems of written trailers (those of trailers an interrupted run
    finished are read back); ``scan_problems``: those of the tree scan and of
    skipped trailers (found again by every run).
    """

    def __init__(self, file: Path, done_before: set[str], scan_problems: list[dict[str, Any]]):
        self.file, self.done_before, self.scan_problems = file, done_before, scan_problems
        self.kept = [item for item in _read_lines(file) if item.get("trailer") in done_before]
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(file, "w") as handle:
            handle.write("".join(json.dumps(i) + "\n" for i in self.kept))

    def record(self, items: list[dict[str, Any]], written: bool) -> None:
        """File the problems of one trailer (``written``: it went into the data set)."""
        self.kept.extend(p for p in items if written)
        if written and items:
            with open(self.file, "a") as handle:
                handle.write("".join(json.dumps(i) + "\n" for i in items))
        else:
            self.scan_problems.extend(items)


def _read_lines(file: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``file`` (none when it is absent), skipping a line cut by an interruption."""
    items = []
    for line in file.read_text().splitlines() if file.exists() else []:
        with contextlib.suppress(json.JSONDecodeError):
            items.append(json.loads(line))
    return items

