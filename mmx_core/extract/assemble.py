"""The last step of an extraction: the finished videos of the work folder -> the trailer data set.

Videos go in the sorted order of the listing, through :class:`~mmx_core.data.writer.DatasetWriter`,
with ``sources.json`` (where each trailer came from) and the keyframe thumbnails; then the work folder
is removed. ``thumbnails.zip`` names its entries as the published set's archive does (``<id>.jpg``,
``sequences/<id>/<s>.jpg``), so :class:`mmx_core.trailers.published.ThumbnailArchive` reads both the same way.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from mmx_core.base.artefacts import atomic_path
from mmx_core.data.manifest import ExpertSpec
from mmx_core.data.writer import DatasetWriter
from mmx_core.extract.config import ExtractConfig, ExtractPlan
from mmx_core.extract.layout import SOURCES_NAME, THUMBNAILS_NAME
from mmx_core.extract.meta import genre_vocabulary
from mmx_core.extract.report import ExtractReport
from mmx_core.extract.weights import extraction_record
from mmx_core.extract.workdir import WorkFolder

__all__ = ["assemble_dataset"]

log = logging.getLogger(__name__)


def assemble_dataset(plan: ExtractPlan, config: ExtractConfig, folder: WorkFolder, out: Path, overwrite: bool,
                     command: str | None, report: ExtractReport) -> tuple[Path | None, int]:
    """Write the data set ``out`` from the videos ``folder`` finished; returns ``(out, clips)``.

    When no video was extracted, nothing is written and ``(None, 0)`` is returned (the command exits 1,
    :attr:`~mmx_core.base.errors.ExitCode.FAILED_INPUTS`); the work folder is removed then too, as it holds
    no finished video a resume could keep (the failures are in ``report.failed``).
    """
    items, rows, experts, spec = plan.items, plan.rows, plan.experts, plan.spec
    done = [(item, row) for item, row in zip(items, rows) if folder.is_done(item.id)]
    if not done:
        folder.remove()
        log.error("%s: no video could be extracted (%d failed); nothing was written", out, len(report.failed))
        return None, 0
    genres = genre_vocabulary([row for _, row in done])
    extraction = _extraction_record(plan, config, report)
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
        if spec.thumbnails:  # entries stored, with fixed dates: the same videos give the same archive
            with atomic_path(writer.stage / THUMBNAILS_NAME) as tmp, zipfile.ZipFile(tmp, "w") as archive:
                for name, jpeg in thumbs:
                    archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), jpeg)
        writer.finish(extra_files={SOURCES_NAME: {"videos": sources}})
    except BaseException:
        writer.close()
        raise
    folder.remove()
    return out, clips


def _extraction_record(plan: ExtractPlan, config: ExtractConfig, report: ExtractReport) -> dict:
    """The manifest's ``extraction``: the experts and their weights, how clips were cut, what failed, the precision."""
    spec = plan.spec
    return {**extraction_record(plan.experts, plan.resolved),
            "shots": spec.detector.to_dict(),
            "clip_seconds": spec.clip_seconds,
            "clips_per_sequence": spec.clips_per_sequence,
            "batch_size": int(config.batch_size),
            "videos": len(plan.items),
            "failed": [{"file": f, "reason": r} for f, r in report.failed],
            "partial": [{"file": f, "reason": r} for f, r in report.partial],
            "media_budget": {**spec.budget.describe(), "allow_partial": spec.allow_partial},
            "thumbnails": THUMBNAILS_NAME if spec.thumbnails else None,
            "precision": dict(report.precision)}
