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

Under torchrun each rank does step 2-3 for its share; rank 0 assembles.
"""

from __future__ import annotations

from datetime import timedelta

import logging
import queue
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from mmx_core.base.devices import resolve_device
from mmx_core.base.processgroup import join_process_group, leave_process_group
from mmx_core.base.errors import MMXError
from mmx_core.base.progress import progress as progress_bar
from mmx_core.data.manifest import ExpertSpec
from mmx_core.data.writer import DatasetWriter
from mmx_core.extract.decode import DecodeSpec, ExpertInput
from mmx_core.extract.infer import ExpertRunner
from mmx_core.extract.meta import VideoItem, genre_vocabulary, list_videos, read_metadata, trailer_rows
from mmx_core.extract.shots import ShotDetector
from mmx_core.extract.layout import SOURCES_NAME, THUMBNAILS_NAME
from mmx_core.extract.thumbnails import write_thumbnail_archive
from mmx_core.extract.video import DecodeError
from mmx_core.extract.workdir import WorkFolder, work_dir
from mmx_core.extract.workers import DecoderPool

EXTRACTION_TIMEOUT = timedelta(hours=48)
"""How long a rank may wait at the final barrier: one rank's share of the videos can take hours."""

__all__ = ["ExtractReport", "extract_videos", "work_dir", "DEFAULT_CLIP_SECONDS", "SOURCES_NAME"]

log = logging.getLogger(__name__)

DEFAULT_CLIP_SECONDS = 2.0
CLIPS_PER_SEQUENCE = 9


@dataclass
class ExtractReport:
    """What :func:`extract_videos` did.

    Attributes
    ----------
    out : Path or None
        The data set (None on ranks other than 0, or when no video succeeded).
    videos : int
        Videos found.
    extracted : int
        Videos extracted by this run (this rank).
    resumed : int
        Videos finished by an earlier, interrupted run and not redone.
    failed : list of (str, str)
        (file, reason) of each video that could not be extracted.
    clips : int
        Clips in the data set.
    frames_decoded : int
        Frames decoded by this run (both passes).
    seconds : float
        Wall time.
    expert_seconds : dict of str to float
        Time spent in each expert's forward passes.
    untrained : bool
        The experts ran with random weights.
    """

    out: Path | None = None
    videos: int = 0
    extracted: int = 0
    resumed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    clips: int = 0
    frames_decoded: int = 0
    seconds: float = 0.0
    expert_seconds: dict[str, float] = field(default_factory=dict)
    expert_items: dict[str, int] = field(default_factory=dict)
    untrained: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------------------- per-video state
@dataclass
class _Video:
    item: VideoItem
    plan: dict[str, Any] | None = None
    features: dict[str, list] = field(default_factory=dict)  # expert -> per clip array or None
    outstanding: int = 0  # (clip, expert) pairs not yet computed
    thumbs: dict[int, bytes] = field(default_factory=dict)
    decoded: bool = False
    info: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- the run
def _identity(experts, resolved, spec: DecodeSpec, batch_size: int) -> dict[str, Any]:
    return {
        "experts": {e.name: {**e.describe(), "sha256": resolved[e.name].sha256,
                             "untrained": resolved[e.name].untrained} for e in experts},
        "detector": spec.detector.to_dict(),
        "clip_seconds": spec.clip_seconds,
        "clips_per_sequence": spec.clips_per_sequence,
        "batch_size": int(batch_size),
    }


def extract_videos(
    videos: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    meta: str | Path | None = None,
    experts: str | Sequence[Any] | None = None,
    device: str = "auto",
    batch_size: int = 8,
    workers: int = 1,
    threads: int | None = None,
    weights_dir: str | Path | None = None,
    resume: bool = False,
    untrained: bool = False,
    download: bool = True,
    detector: str = "content",
    threshold: float | None = None,
    min_shot_seconds: float = 0.5,
    clip_seconds: float = DEFAULT_CLIP_SECONDS,
    thumbnails: bool = True,
    overwrite: bool = False,
    command: str | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> ExtractReport:
    """Extract expert features from video files into a trailer data set at ``out``.

    Parameters
    ----------
    videos : path or sequence of paths
        A folder (searched recursively) and/or video files.
    out : path
        The data set folder to write.
    meta : path, optional
        Metadata table (CSV or parquet): ``id`` or ``file``, ``title``, ``year``,
        ``genres``, optional ``split``.
    experts : str or sequence, optional
        ``"image,scene,motion,audio"`` (the default), names, or :class:`Expert` objects.
    device : {"auto", "cpu", "cuda"}
    batch_size : int
        Clips (audio: 0.96 s examples) per forward pass; every pass has this size.
    workers : int
        Decoding processes (0: decode in this process).
    threads : int, optional
        Torch intra-op threads for the experts during the run (default: torch's
        own setting; torchrun sets 1 per process). CPU kernels sum in an order
        that depends on the thread count, so features are byte-identical between
        runs (resumed, sharded) that use the same number of threads per process.
    weights_dir : path, optional
        Folder holding the weights files (before the torch cache and a download).
    resume : bool
        Continue an interrupted extraction into ``out``, keeping the videos it finished.
    untrained : bool
        Random backbone weights (pipeline tests only); recorded in the manifest.
    download : bool
        Download missing weights files into the torch cache (False: only look on disk).
    detector, threshold, min_shot_seconds :
        Shot detection (see :class:`~mmx_core.extract.shots.ShotDetector`).
    clip_seconds : float
        Shortest clip length (see :mod:`mmx_core.extract.plan`).
    thumbnails : bool
        Save keyframe thumbnails (``thumbnails.zip``).
    overwrite : bool
        Replace an existing data set at ``out``.
    command : str, optional
        Command line recorded in the manifest.
    progress : callable(dict), optional
        Called after each video with ``video``, ``file``, ``done``, ``total``,
        ``frames_per_second``, ``eta_seconds``, ``failed`` (for background jobs).

    Returns
    -------
    ExtractReport

    Raises
    ------
    MMXError
        Bad parameters, missing weights (before any decoding), an existing
        ``out`` without ``overwrite``, or no video extracted at all.
    """
    from mmx_core.extract.experts import parse_experts
    from mmx_core.extract.weights import resolve_weights

    started = time.perf_counter()
    out = Path(out)
    if batch_size < 1:
        raise MMXError(f"--batch-size must be >= 1, got {batch_size}")
    if workers < 0:
        raise MMXError(f"--workers must be >= 0, got {workers}")
    if not clip_seconds > 0:
        raise MMXError(f"--clip-seconds must be > 0, got {clip_seconds}")
    shot_detector = ShotDetector(detector, threshold, min_shot_seconds).validate()
    if out.exists() and not overwrite:
        raise MMXError("already exists; choose another --out or pass --overwrite to replace it", out)
    chosen = list(experts) if experts is not None and not isinstance(experts, str) else None
    if chosen is not None and all(not isinstance(e, str) for e in chosen):
        expert_list = chosen
    else:
        expert_list = parse_experts(experts)
    items = list_videos(videos)
    table = read_metadata(meta) if meta is not None else None
    rows = trailer_rows(items, table)
    # weights before anything is decoded: a missing file stops here with one line
    resolved = resolve_weights(expert_list, weights_dir=weights_dir, untrained=untrained, download=download)

    shard = join_process_group(device, timeout=EXTRACTION_TIMEOUT)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise MMXError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))
    try:
        torch_device = resolve_device(device, shard.gpu_index)
        spec = DecodeSpec(tuple(ExpertInput.of(e) for e in expert_list), shot_detector, float(clip_seconds),
                          CLIPS_PER_SEQUENCE, thumbnails)
        folder = WorkFolder(out)
        if shard.is_main:
            folder.prepare(_identity(expert_list, resolved, spec, batch_size), resume)
        shard.barrier()
        report = ExtractReport(videos=len(items), untrained=bool(untrained))
        mine = shard.mine(len(items))
        todo = [i for i in mine if not folder.is_done(items[i].id)]
        report.resumed = len(mine) - len(todo)
        if report.resumed:
            log.info("resuming: %d of %d videos were finished by an earlier run", report.resumed, len(mine))
        _run(items, todo, expert_list, resolved, spec, torch_device, batch_size, workers, weights_dir, folder,
             report, progress, resume_base=report.resumed, total=len(mine))
        shard.barrier()
        if shard.is_main:
            report.failed = folder.failures(item.id for item in items)
            report.out, report.clips = _assemble(
                items, rows, expert_list, resolved, spec, folder, out, overwrite, command, batch_size, report)
        shard.barrier()
    finally:
        torch.set_num_threads(previous_threads)
        leave_process_group(shard)
    report.seconds = time.perf_counter() - started
    return report


def _record_failure(folder: WorkFolder, item: VideoItem, reason: str, report: ExtractReport) -> None:
    log.warning("%s: %s", item.relative, reason)
    folder.record_failure(item.id, item.relative, reason)
    report.failed.append((item.relative, reason))


def _run(items, todo, experts, resolved, spec, device, batch_size, workers, weights_dir, folder, report,
         progress, resume_base: int, total: int) -> None:
    if not todo:
        return
    videos: dict[int, _Video] = {}
    finished: list[int] = []

    def deliver(index: int, clip: int, name: str, features) -> None:
        video = videos.get(index)
        if video is None:  # its decoding failed after some clips were queued
            return
        video.features[name][clip] = features
        video.outstanding -= 1
        if video.outstanding == 0 and video.decoded:
            finished.append(index)

    runners = {}
    for expert in experts:
        with torch.random.fork_rng(devices=[]):
            # untrained weights drawn from a seed fixed per expert, so every run and rank draws the same
            torch.manual_seed(zlib.crc32(expert.name.encode()))
            module = expert.build(weights=resolved[expert.name], weights_dir=weights_dir, device=device,
                                  untrained=resolved[expert.name].untrained)
        runners[expert.name] = ExpertRunner(expert, module, device, int(batch_size), deliver)

    decoders = DecoderPool([(i, items[i].path) for i in todo], spec, workers)
    frames_done = 0
    clock = time.perf_counter()

    def complete(index: int) -> Iterator[int]:
        video = videos.pop(index)
        try:
            report.clips += folder.save_video(video.item.id, video.item.relative, video.plan, video.features,
                                              video.thumbs, experts)
        except DecodeError as exc:
            _record_failure(folder, video.item, exc.message, report)
            yield index
            return
        report.extracted += 1
        nonlocal frames_done
        frames_done += int(video.info.get("frames", 0))
        report.frames_decoded += int(video.info.get("frames", 0))
        log.info("%s: %d clips, %d frames in %.1f s", video.item.relative, sum(video.plan["clip_counts"]),
                 video.info.get("frames", 0), video.info.get("seconds", 0.0))
        yield index

    def events() -> Iterator[int]:
        while True:
            waiting = any(r.pending for r in runners.values())
            try:
                message = decoders.get(timeout=0.05 if waiting else None)
            except queue.Empty:  # decoders are slower than the experts: run the partial batches
                for runner in runners.values():
                    runner.flush()
                while finished:
                    yield from complete(finished.pop(0))
                continue
            if message is None:
                for runner in runners.values():
                    runner.flush()
                while finished:
                    yield from complete(finished.pop(0))
                return
            index, kind, payload = message
            if kind == "plan":
                n_clips = int(sum(payload["clip_counts"]))
                videos[index] = _Video(items[index], payload, {e.name: [None] * n_clips for e in experts},
                                       outstanding=n_clips * len(experts))
            elif kind == "clip":
                clip, inputs = payload
                for name, data in inputs.items():
                    runners[name].add(index, clip, data)
            elif kind == "thumb":
                videos[index].thumbs[payload[0]] = payload[1]
            elif kind == "done":
                video = videos[index]
                video.decoded, video.info = True, payload
                if video.outstanding == 0:
                    finished.append(index)
            elif kind == "failed":
                videos.pop(index, None)
                _record_failure(folder, items[index], payload, report)
                yield index
            while finished:
                yield from complete(finished.pop(0))

    try:
        for done, index in enumerate(progress_bar(events(), "extract (videos)", total=len(todo)), start=1):
            if progress is not None:
                elapsed = time.perf_counter() - clock
                rate = done / elapsed if elapsed > 0 else 0.0
                progress({"video": items[index].id, "file": items[index].relative, "done": resume_base + done,
                          "total": total, "frames_per_second": frames_done / elapsed if elapsed > 0 else 0.0,
                          "eta_seconds": (len(todo) - done) / rate if rate > 0 else None,
                          "failed": len(report.failed)})
    finally:
        decoders.close()
    for name, runner in runners.items():
        report.expert_seconds[name] = runner.seconds
        report.expert_items[name] = runner.items_done


def _assemble(items, rows, experts, resolved, spec, folder: WorkFolder, out: Path, overwrite: bool, command, batch_size,
              report: ExtractReport) -> tuple[Path | None, int]:
    from mmx_core.extract.weights import extraction_record

    done = [(item, row) for item, row in zip(items, rows) if folder.is_done(item.id)]
    if not done:
        raise MMXError(f"no video could be extracted ({len(report.failed)} failed); see the reasons above", out)
    kept_rows = [row for _, row in done]
    genres = genre_vocabulary(kept_rows)
    extraction = extraction_record(experts, resolved)
    extraction.update({
        "shots": spec.detector.to_dict(),
        "clip_seconds": spec.clip_seconds,
        "clips_per_sequence": spec.clips_per_sequence,
        "batch_size": int(batch_size),
        "videos": len(items),
        "failed": [{"file": f, "reason": r} for f, r in report.failed],
        "thumbnails": THUMBNAILS_NAME if spec.thumbnails else None,
    })
    writer = DatasetWriter(
        out, genres, {e.name: ExpertSpec(int(e.dim), e.temporal) for e in experts}, spec.clips_per_sequence,
        generated=False, generator={"command": command or "", "step": "extract"},
        source=f"extracted from {len(done)} video files" + (" with untrained backbones" if report.untrained else ""),
        overwrite=overwrite, extraction=extraction)
    clips = 0
    thumbs: list[tuple[str, bytes]] = []
    sources = []
    try:
        for item, row in done:
            data = folder.load_video(item.id)
            features = {e.name: (data[f"{e.name}.frames"], data[f"{e.name}.counts"]) for e in experts}
            plain = {k: v for k, v in row.items() if k != "labelled"}
            writer.add_trailer(plain, data["clip_counts"], features)
            clips += int(data["clip_counts"].sum())
            meta = data["meta"]
            sources.append({"id": item.id, "file": str(item.path.resolve()), "relative": item.relative,
                            "duration": meta.get("duration"), "cuts": meta.get("cuts", []),
                            "sequences": meta.get("sequences", []), "has_audio": meta.get("has_audio"),
                            "missing_clips": meta.get("missing_clips", {})})
            if spec.thumbnails:
                thumbs.extend(folder.thumbnail_entries(item.id, data["clip_counts"]))
        if spec.thumbnails:
            write_thumbnail_archive(writer.stage / THUMBNAILS_NAME, thumbs)
        writer.finish(extra_files={SOURCES_NAME: {"videos": sources}})
    except BaseException:
        writer.close()
        raise
    folder.remove()
    return out, clips
