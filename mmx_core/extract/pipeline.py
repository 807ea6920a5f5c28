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

from mmx_core.base.devices import DEFAULT_PRECISION, check_precision, resolve_device, resolve_precision
from mmx_core.base.errors import MMXError
from mmx_core.base.outputs import DATASET, check_output, output_lock
from mmx_core.base.processgroup import join_process_group, leave_process_group
from mmx_core.extract.assemble import assemble_dataset
from mmx_core.extract.budget import MediaBudget
from mmx_core.extract.decode import DecodeSpec, ExpertInput
from mmx_core.extract.layout import SOURCES_NAME
from mmx_core.extract.meta import list_videos, read_metadata, trailer_rows
from mmx_core.extract.report import ExtractReport
from mmx_core.extract.shots import ShotDetector
from mmx_core.extract.video_run import run_videos
from mmx_core.extract.workdir import WorkFolder, work_dir

EXTRACTION_TIMEOUT = timedelta(hours=48)
"""How long a rank may wait at the final barrier: one rank's share of the videos can take hours."""

__all__ = ["ExtractReport", "extract_videos", "work_dir", "DEFAULT_CLIP_SECONDS", "SOURCES_NAME"]

log = logging.getLogger(__name__)

DEFAULT_CLIP_SECONDS = 2.0
CLIPS_PER_SEQUENCE = 9


def _identity(experts, resolved, spec: DecodeSpec, batch_size: int, precision: str) -> dict[str, Any]:
    return {
        "precision": precision,
        "experts": {e.name: {**e.describe(), "sha256": resolved[e.name].sha256,
                             "untrained": resolved[e.name].untrained} for e in experts},
        "detector": spec.detector.to_dict(),
        "clip_seconds": spec.clip_seconds,
        "clips_per_sequence": spec.clips_per_sequence,
        "batch_size": int(batch_size),
    }



def extract_videos(
    videos: str | Path | Sequence[str | Path], out: str | Path, *, meta: str | Path | None = None,
    experts: str | Sequence[Any] | None = None, device: str = "auto", batch_size: int = 8, workers: int = 1,
    threads: int | None = None, weights_dir: str | Path | None = None, resume: bool = False, untrained: bool = False,
    download: bool = True, detector: str = "content", threshold: float | None = None, min_shot_seconds: float = 0.5,
    clip_seconds: float = DEFAULT_CLIP_SECONDS, thumbnails: bool = True, overwrite: bool = False,
    command: str | None = None, progress: Callable[[dict[str, Any]], None] | None = None,
    budget: MediaBudget | None = None, allow_partial: bool = False, strict: bool = False,
    precision: str = DEFAULT_PRECISION) -> ExtractReport:
    """Extract expert features from video files into a trailer data set at ``out``; returns an :class:`ExtractReport`.

    Parameters
    ----------
    videos : path or sequence of paths
        A folder (searched recursively) and/or video files.
    out : path
        The data set folder to write (``overwrite``: replace an existing one).
    meta : path, optional
        Metadata table (CSV or parquet): ``id`` or ``file``, ``title``, ``year``, ``genres``, optional ``split``.
    experts : str or sequence, optional
        ``"image,scene,motion,audio"`` (the default), names, or :class:`Expert` objects.
    device : {"auto", "cpu", "cuda"}
    batch_size, workers : int
        Clips (audio: 0.96 s examples) per forward pass, every pass this size; decoding processes (0: this one).
    threads : int, optional
        Torch intra-op threads of the experts (default: torch's own; torchrun sets 1 per process). CPU kernels
        sum in an order that depends on it: features are byte-identical between runs with the same threads.
    weights_dir : path, optional
        Folder holding the weights files (before the torch cache and a download).
    resume, untrained, download : bool
        Continue an interrupted extraction into ``out``, keeping the videos it finished; random backbone weights
        (pipeline tests only; recorded in the manifest); download missing weights files into the torch cache.
    detector, threshold, min_shot_seconds, clip_seconds :
        Shot detection (:class:`~mmx_core.extract.shots.ShotDetector`); shortest clip (:mod:`~mmx_core.extract.plan`).
    thumbnails, command : bool, str (optional)
        Save keyframe thumbnails (``thumbnails.zip``); the command line recorded in the manifest.
    progress : callable(dict), optional
        Called after each video with ``video``, ``file``, ``done``, ``total``, ``frames_per_second``,
        ``eta_seconds``, ``failed`` (for background jobs).
    budget : MediaBudget, optional
        What one video may cost (default :class:`~mmx_core.extract.budget.MediaBudget`): a file over it is
        reported as failed, never planned.
    allow_partial, strict : bool
        Keep what decodes of a truncated or damaged file (reported, in ``report.partial`` and the manifest)
        instead of failing it; refuse doubtful metadata matches instead of warning.
    precision : {"auto", "fp32", "bf16", "fp16"}
        The experts' autocast (:func:`~mmx_core.base.devices.resolve_precision`; ``"auto"``: bfloat16 on a CPU
        with matrix units). What ran, and why, is in the manifest's ``extraction.precision``; ``"fp32"`` gives
        the float32 features bit for bit. Stored features are float16 whatever the precision.

    Raises
    ------
    MMXError
        Bad parameters, an ``out`` the output contract refuses (:func:`mmx_core.base.outputs.check_output`), missing
        weights (before any decoding), or another writer of ``out``. When no video could be extracted, nothing is
        written and ``report.out`` is None.
    """
    from mmx_core.extract.weights import resolve_weights

    started, out = time.perf_counter(), Path(out)
    shot_detector = _checked(batch_size, workers, threads, clip_seconds, detector, threshold, min_shot_seconds)
    check_precision(precision, device, "--precision")
    check_output(out, DATASET, inputs=[videos] if isinstance(videos, (str, Path)) else list(videos), reads=(meta,),
                 overwrite=overwrite)  # the output contract, before any work (docs/interfaces.md)
    expert_list = _expert_list(experts)
    items = list_videos(videos)
    rows = trailer_rows(items, read_metadata(meta) if meta is not None else None, strict=strict)
    resolved = resolve_weights(expert_list, weights_dir=weights_dir, untrained=untrained, download=download)
    spec = DecodeSpec(tuple(ExpertInput.of(e) for e in expert_list), shot_detector, float(clip_seconds),
                      CLIPS_PER_SEQUENCE, thumbnails, budget or MediaBudget(), bool(allow_partial))
    report = _extract_in_group(items, rows, expert_list, resolved, spec, out, untrained, device=device,
                               threads=threads, batch_size=batch_size, workers=workers, weights_dir=weights_dir,
                               resume=resume, overwrite=overwrite, command=command, progress=progress,
                               precision=precision)
    report.seconds = time.perf_counter() - started
    return report


def _checked(batch_size: int, workers: int, threads: int | None, clip_seconds: float, detector: str,
             threshold: float | None, min_shot_seconds: float) -> ShotDetector:
    """Refuse bad parameters (one line each) before any work; returns the validated shot detector."""
    if batch_size < 1:
        raise MMXError(f"--batch-size must be >= 1, got {batch_size}")
    if workers < 0:
        raise MMXError(f"--workers must be >= 0, got {workers}")
    if threads is not None and threads < 1:
        raise MMXError(f"--threads must be >= 1, got {threads}")
    if not clip_seconds > 0:
        raise MMXError(f"--clip-seconds must be > 0, got {clip_seconds}")
    shot_detector = ShotDetector(detector, threshold, min_shot_seconds).validate()
    return shot_detector


def _expert_list(experts: str | Sequence[Any] | None) -> list:
    """:class:`Expert` objects as given, or parsed from names (None: the default four)."""
    from mmx_core.extract.experts import parse_experts

    chosen = list(experts) if experts is not None and not isinstance(experts, str) else None
    if chosen is not None and all(not isinstance(e, str) for e in chosen):
        return chosen
    return parse_experts(experts)


def _extract_in_group(items, rows, expert_list, resolved, spec: DecodeSpec, out: Path, untrained: bool, *,
                      device: str, threads: int | None, batch_size: int, workers: int, weights_dir, resume: bool,
                      overwrite: bool, command: str | None, progress, precision: str) -> ExtractReport:
    """Steps 2-4 in the process group (one process without torchrun): each rank its share, rank 0 assembles."""
    report = ExtractReport(videos=len(items), untrained=bool(untrained))
    shard = join_process_group(device, timeout=EXTRACTION_TIMEOUT)
    previous_threads = torch.get_num_threads()
    lock = contextlib.ExitStack()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        torch_device = resolve_device(device, shard.gpu_index)
        autocast = resolve_precision(precision, torch_device)
        report.precision = autocast.record(precision)
        log.info("experts in %s", autocast.reason)
        folder = WorkFolder(out)
        refused = None
        if shard.is_main:  # one writer of ``out``, its work folder and its staging folder, for the whole run
            try:
                lock.enter_context(output_lock(out, "the extraction's data set"))
                folder.prepare(_identity(expert_list, resolved, spec, batch_size, autocast.name), resume)
            except MMXError as exc:
                refused = exc
        if shard.any_failed(refused is not None):  # every rank stops, instead of waiting at a barrier
            raise refused or MMXError("refused by rank 0 (another writer, or an unfinished run with other "
                                      "parameters); see its message", out)
        shard.barrier()
        mine = shard.mine(len(items))
        todo = [i for i in mine if not folder.is_done(items[i].id)]
        report.resumed = len(mine) - len(todo)
        if report.resumed:
            log.info("resuming: %d of %d videos were finished by an earlier run", report.resumed, len(mine))
        run_videos(items, todo, expert_list, resolved, spec, torch_device, batch_size, workers, weights_dir, folder,
                   report, progress, resume_base=report.resumed, total=len(mine), dtype=autocast.dtype)
        shard.barrier()
        if shard.is_main:
            report.failed = folder.failures(item.id for item in items)
            report.partial = folder.partials(item.id for item in items)
            report.out, report.clips = assemble_dataset(
                items, rows, expert_list, resolved, spec, folder, out, overwrite, command, batch_size, report)
        shard.barrier()
    finally:
        lock.close()
        torch.set_num_threads(previous_threads)
        leave_process_group(shard)
    return report
