"""Video files -> a trailer data set: :func:`extract_videos`, what the ``extract`` command runs.

Order of work:

1. list the videos, read the metadata table, pick the experts and resolve
   their weights (a missing weights file stops here, before any decoding);
2. decode videos in worker processes (:mod:`mmx_core.extract.decode`), each
   sending its clips' inputs through a bounded queue, while this process
   prepares them and runs the experts in fixed-size batches across videos
   (:mod:`mmx_core.extract.infer`);
3. each finished video's features go to ``videos/<key>.npz`` in the work
   folder ``.<out name>.extract`` beside ``out`` (atomically), so ``resume``
   skips finished videos after any interruption, ``kill -9`` included;
4. the data set is assembled from those files in the sorted order of the
   videos through :class:`~mmx_core.data.DatasetWriter` (with thumbnails),
   and the work folder is removed.

Under torchrun each rank does step 2-3 for its share (:mod:`mmx_core.extract.video_run`);
rank 0 assembles (:mod:`mmx_core.extract.assemble`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from mmx_core.base.devices import resolve_device, resolve_precision
from mmx_core.base.errors import MMXError
from mmx_core.base.output_writer import output_lock
from mmx_core.base.outputs import DATASET, check_output
from mmx_core.base.processgroup import join_process_group, leave_process_group
from mmx_core.extract.assemble import assemble_dataset
from mmx_core.extract.config import CLIPS_PER_SEQUENCE, ExtractConfig, ExtractPlan
from mmx_core.extract.decode import DecodeSpec, ExpertInput
from mmx_core.extract.experts import parse_experts
from mmx_core.extract.listing import list_videos
from mmx_core.extract.meta import read_metadata, trailer_rows
from mmx_core.extract.report import ExtractReport
from mmx_core.extract.video_run import run_videos
from mmx_core.extract.weights import resolve_weights
from mmx_core.extract.workdir import WorkFolder, work_dir

EXTRACTION_TIMEOUT = timedelta(hours=48)
"""How long a rank may wait at the final barrier: one rank's share of the videos can take hours."""

__all__ = ["ExtractConfig", "ExtractReport", "extract_videos", "work_dir"]

log = logging.getLogger(__name__)


def _identity(plan: ExtractPlan, config: ExtractConfig, precision: str) -> dict[str, Any]:
    """What a resumed run must share with the run it continues."""
    spec = plan.spec
    return {
        "precision": precision,
        "experts": {e.name: {**e.describe(), "sha256": plan.resolved[e.name].sha256,
                             "untrained": plan.resolved[e.name].untrained} for e in plan.experts},
        "detector": spec.detector.to_dict(),
        "clip_seconds": spec.clip_seconds,
        "clips_per_sequence": spec.clips_per_sequence,
        "batch_size": int(config.batch_size),
    }


def extract_videos(
    videos: str | Path | Sequence[str | Path], out: str | Path, config: ExtractConfig | None = None, *,
    meta: str | Path | None = None, resume: bool = False, overwrite: bool = False, command: str | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None) -> ExtractReport:
    """Extract expert features from video files into a trailer data set at ``out``; returns an :class:`ExtractReport`.

    Parameters
    ----------
    videos : path or sequence of paths
        A folder (searched recursively) and/or video files.
    out : path
        The data set folder to write (``overwrite``: replace an existing one).
    config : ExtractConfig, optional
        How (experts, device, precision, batches, threads, shots, budget...); default ``ExtractConfig()``.
    meta : path, optional
        Metadata table (CSV or parquet): ``id`` or ``file``, ``title``, ``year``, ``genres``, optional ``split``.
    resume, overwrite : bool
        Continue an interrupted extraction into ``out``, keeping the videos it finished; replace a data set there.
    command : str, optional
        The command line recorded in the manifest.
    progress : callable(dict), optional
        Called after each video with ``video``, ``file``, ``done``, ``total``, ``frames_per_second``,
        ``eta_seconds``, ``failed`` (for background jobs).

    Raises
    ------
    MMXError
        Bad parameters, an ``out`` the output contract refuses (:func:`mmx_core.base.outputs.check_output`), missing
        weights (before any decoding), or another writer of ``out``. When no video could be extracted, nothing is
        written and ``report.out`` is None.
    """
    started, out = time.perf_counter(), Path(out)
    config = (config or ExtractConfig()).validate()
    check_output(out, DATASET, inputs=[videos] if isinstance(videos, (str, Path)) else list(videos), reads=(meta,),
                 overwrite=overwrite)  # the output contract, before any work (docs/interfaces.md)
    experts = _expert_list(config.experts)
    items = list_videos(videos)
    rows = trailer_rows(items, read_metadata(meta) if meta is not None else None, strict=config.strict)
    resolved = resolve_weights(experts, weights_dir=config.weights_dir, untrained=config.untrained,
                               download=config.download)
    spec = DecodeSpec(tuple(ExpertInput.of(e) for e in experts), config.shot_detector(), float(config.clip_seconds),
                      CLIPS_PER_SEQUENCE, config.thumbnails, config.budget, bool(config.allow_partial))
    report = _extract_in_group(ExtractPlan(items, rows, experts, resolved, spec), config, out, resume=resume,
                               overwrite=overwrite, command=command, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


def _expert_list(experts: str | Sequence[Any] | None) -> list:
    """:class:`Expert` objects as given, or parsed from names (None: the default four)."""
    if experts is None or isinstance(experts, str) or any(isinstance(e, str) for e in experts):
        return parse_experts(experts)
    return list(experts)


def _extract_in_group(plan: ExtractPlan, config: ExtractConfig, out: Path, *, resume: bool, overwrite: bool,
                      command: str | None, progress) -> ExtractReport:
    """Steps 2-4 in the process group (one process without torchrun): each rank its share, rank 0 assembles."""
    report = ExtractReport(videos=len(plan.items), untrained=bool(config.untrained))
    shard = join_process_group(config.device, timeout=EXTRACTION_TIMEOUT)
    previous_threads = torch.get_num_threads()
    lock = contextlib.ExitStack()
    try:
        torch_device = resolve_device(config.device, shard.gpu_index)
        if config.threads is not None:  # else torch's own count
            torch.set_num_threads(int(config.threads))
        autocast = resolve_precision(config.precision, torch_device)
        report.precision = autocast.record(config.precision)
        log.info("experts in %s", autocast.reason)
        folder = WorkFolder(out)
        refused = None
        if shard.is_main:  # one writer of ``out``, its work folder and its staging folder, for the whole run
            try:
                lock.enter_context(output_lock(out, "the extraction's data set"))
                folder.prepare(_identity(plan, config, autocast.name), resume)
            except MMXError as exc:
                refused = exc
        if shard.any_failed(refused is not None):  # every rank stops, instead of waiting at a barrier
            raise refused or MMXError("refused by rank 0 (another writer, or an unfinished run with other "
                                      "parameters); see its message", out)
        shard.barrier()
        mine = shard.mine(len(plan.items))
        todo = [i for i in mine if not folder.is_done(plan.items[i].id)]
        report.resumed = len(mine) - len(todo)
        if report.resumed:
            log.info("resuming: %d of %d videos were finished by an earlier run", report.resumed, len(mine))
        run_videos(plan, todo, config, torch_device, folder, report, progress, resume_base=report.resumed,
                   total=len(mine), dtype=autocast.dtype)
        shard.barrier()
        if shard.is_main:
            report.failed = folder.failures(item.id for item in plan.items)
            report.partial = folder.partials(item.id for item in plan.items)
            report.out, report.clips = assemble_dataset(plan, config, folder, out, overwrite, command, report)
        shard.barrier()
    finally:
        lock.close()
        torch.set_num_threads(previous_threads)
        leave_process_group(shard)
    return report
