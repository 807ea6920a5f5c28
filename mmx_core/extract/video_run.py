"""One rank's share of an extraction: decoded clips through the experts, each finished video saved.

Decoding workers send each video's plan, clip inputs, thumbnails and end; the experts run in
fixed-size batches across videos (:class:`~mmx_core.extract.infer.ExpertRunner`), and a video is
written to the work folder as soon as its last clip's features are back.
"""

from __future__ import annotations

import logging
import queue
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch

from mmx_core.base.errors import escape_control
from mmx_core.base.progress import progress as progress_bar
from mmx_core.extract.config import ExtractConfig, ExtractPlan
from mmx_core.extract.infer import ExpertRunner
from mmx_core.extract.listing import VideoItem
from mmx_core.extract.report import ExtractReport
from mmx_core.extract.video import DecodeError
from mmx_core.extract.workdir import WorkFolder
from mmx_core.extract.workers import DecoderPool

__all__ = ["run_videos", "VideoRun"]

log = logging.getLogger(__name__)


@dataclass
class _Video:
    item: VideoItem
    plan: dict[str, Any] | None = None
    features: dict[str, list] = field(default_factory=dict)  # expert -> per clip array or None
    outstanding: int = 0  # (clip, expert) pairs not yet computed
    thumbs: dict[int, bytes] = field(default_factory=dict)
    decoded: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def run_videos(plan: ExtractPlan, todo: list[int], config: ExtractConfig, device: torch.device, folder: WorkFolder,
               report: ExtractReport, progress: Callable[[dict[str, Any]], None] | None, resume_base: int, total: int,
               dtype: torch.dtype | None = None) -> None:
    """Extract the videos ``plan.items[i]`` for ``i`` in ``todo`` into ``folder``, counting into ``report``.

    ``progress`` gets one record per video (``done`` counts from ``resume_base`` up to ``total``); the experts
    run under autocast to ``dtype`` (None: float32; :func:`~mmx_core.base.devices.resolve_precision`).
    """
    items = plan.items
    if not todo:
        return
    run = VideoRun(plan, config, device, folder, report, dtype=dtype)
    for i in [i for i in todo if items[i].refused]:  # refused when listed (a link out of its folder): never opened
        run.record_failure(items[i], items[i].refused)
    todo = [i for i in todo if not items[i].refused]
    if not todo:
        return
    decoders = DecoderPool([(i, items[i].path) for i in todo], plan.spec, config.workers)
    clock = time.perf_counter()
    try:
        for done, index in enumerate(progress_bar(run.events(decoders), "extract (videos)", total=len(todo)), start=1):
            if progress is not None:
                elapsed = time.perf_counter() - clock
                rate = done / elapsed if elapsed > 0 else 0.0
                progress({"video": items[index].id, "file": items[index].relative, "done": resume_base + done,
                          "total": total, "frames_per_second": report.frames_decoded / elapsed if elapsed > 0 else 0.0,
                          "eta_seconds": (len(todo) - done) / rate if rate > 0 else None,
                          "failed": len(report.failed)})
    finally:
        decoders.close()
    for name, runner in run.runners.items():
        report.expert_seconds[name] = runner.seconds
        report.expert_items[name] = runner.items_done


class VideoRun:
    """The videos in flight: decoder messages in, the index of each finished (or failed) video out."""

    def __init__(self, plan: ExtractPlan, config: ExtractConfig, device: torch.device, folder: WorkFolder,
                 report: ExtractReport, dtype: torch.dtype | None = None):
        self.items, self.experts, self.folder, self.report = plan.items, plan.experts, folder, report
        self.videos: dict[int, _Video] = {}
        self.finished: list[int] = []
        self.runners = {}
        for expert in plan.experts:
            with torch.random.fork_rng(devices=[]):
                # untrained weights drawn from a seed fixed per expert, so every run and rank draws the same
                torch.manual_seed(zlib.crc32(expert.name.encode()))
                resolved = plan.resolved[expert.name]
                module = expert.build(weights=resolved, weights_dir=config.weights_dir, device=device,
                                      untrained=resolved.untrained)
            self.runners[expert.name] = ExpertRunner(expert, module, device, int(config.batch_size), self.deliver,
                                                     dtype)

    def deliver(self, index: int, clip: int, name: str, features) -> None:
        """An expert's features of one clip (called by the runners)."""
        video = self.videos.get(index)
        if video is None:  # its decoding failed after some clips were queued
            return
        video.features[name][clip] = features
        video.outstanding -= 1
        if video.outstanding == 0 and video.decoded:
            self.finished.append(index)

    def record_failure(self, item: VideoItem, reason: str) -> None:
        log.warning("%s: %s", escape_control(item.relative), escape_control(reason))
        self.folder.record_failure(item.id, item.relative, reason)
        self.report.failed.append((item.relative, reason))

    def complete(self, index: int) -> None:
        """Save a video all of whose features are back (or record why it cannot be)."""
        video = self.videos.pop(index)
        report = self.report
        try:
            report.clips += self.folder.save_video(video.item.id, video.item.relative, video.plan, video.features,
                                                   video.thumbs, self.experts,
                                                   partial="; ".join(video.info.get("partial") or []) or None)
        except DecodeError as exc:
            self.record_failure(video.item, exc.message)
            return
        report.extracted += 1
        report.frames_decoded += int(video.info.get("frames", 0))
        log.info("%s: %d clips, %d frames in %.1f s%s", escape_control(video.item.relative), sum(video.plan["clip_counts"]),
                 video.info.get("frames", 0), video.info.get("seconds", 0.0),
                 " (partial: " + escape_control("; ".join(video.info["partial"])) + ")" if video.info.get("partial") else "")

    def _flush_and_drain(self) -> Iterator[int]:
        for runner in self.runners.values():
            runner.flush()
        yield from self._drain()

    def _drain(self) -> Iterator[int]:
        while self.finished:
            index = self.finished.pop(0)
            self.complete(index)
            yield index

    def events(self, decoders: DecoderPool) -> Iterator[int]:
        """Read the decoders' messages until all are done; yields each video's index once it is finished."""
        while True:
            waiting = any(r.pending for r in self.runners.values())
            try:
                message = decoders.get(timeout=0.05 if waiting else None)
            except queue.Empty:  # decoders are slower than the experts: run the partial batches
                yield from self._flush_and_drain()
                continue
            if message is None:
                yield from self._flush_and_drain()
                return
            yield from self._handle(*message)
            yield from self._drain()

    def _handle(self, index: int, kind: str, payload) -> Iterator[int]:
        if kind == "plan":
            n_clips = int(sum(payload["clip_counts"]))
            self.videos[index] = _Video(self.items[index], payload, {e.name: [None] * n_clips for e in self.experts},
                                        outstanding=n_clips * len(self.experts))
        elif kind == "clip":
            clip, inputs = payload
            for name, data in inputs.items():
                self.runners[name].add(index, clip, data)
        elif kind == "thumb":
            self.videos[index].thumbs[payload[0]] = payload[1]
        elif kind == "done":
            video = self.videos[index]
            video.decoded, video.info = True, payload
            if video.outstanding == 0:
                self.finished.append(index)
        elif kind == "failed":
            self.videos.pop(index, None)
            self.record_failure(self.items[index], payload)
            yield index
