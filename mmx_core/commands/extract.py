"""``extract``: video files -> a trailer data set (expert features, shots, clips, thumbnails)."""

from __future__ import annotations

import dataclasses
import sys

from mmx_core.commands.argtypes import THREADS, add_command, add_device, add_precision, float_in, int_in
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import DATASET, tag_output
from mmx_core.commands.synth import OUT_HELP, command_line, resolve_out
from mmx_core.extract.config import ExtractConfig
from mmx_core.extract.shots import DETECTORS

DEFAULTS = ExtractConfig()
"""The defaults every option below shows and takes: the library's own."""


def register(subparsers) -> None:
    parser = add_command(subparsers, "extract", run, help="extract expert features from video files into a data set",
        description="Decode videos (PyAV), find shots (PySceneDetect), cut them into clips and run the experts. "
                    "Under torchrun the videos are shared across ranks. See docs/extract.md.")
    parser.add_argument("videos", metavar="VIDEOS", nargs="+", help="a folder of videos (recursive) or video files")
    tag_output(parser.add_argument("--out", required=True, help=OUT_HELP), DATASET)
    parser.add_argument("--meta", default=None, help="metadata table (CSV or parquet): id or file, title, year, "
                                                     "genres (list or 'A|B'), optional split")
    parser.add_argument("--experts", default=DEFAULTS.experts,
                        help="comma-separated experts")
    add_device(parser, DEFAULTS.device, "auto: a CUDA GPU when torch sees one (one per torchrun rank), else the CPU")
    add_precision(parser, " (recorded in the manifest; stored features are float16 either way)")
    parser.add_argument("--batch-size", type=int_in(1), default=DEFAULTS.batch_size,
                        help=f"clips (audio: 0.96 s examples) per forward pass (default {DEFAULTS.batch_size})")
    parser.add_argument("--workers", type=int_in(0, 256), default=DEFAULTS.workers,
                        help="decoding processes (0: decode in this process)")
    parser.add_argument("--threads", type=THREADS, default=DEFAULTS.threads,
                        help="torch threads for the experts (default: torch's own, the cores this process may use; "
                             "results are byte-identical between runs with the same threads per process)")
    parser.add_argument("--weights-dir", default=None, help="folder holding the experts' weights files")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted extraction into --out")
    parser.add_argument("--untrained", action="store_true",
                        help="random backbone weights, for testing the pipeline only (recorded in the manifest)")
    parser.add_argument("--no-download", action="store_true",
                        help="never download weights files; only look in --weights-dir and the torch cache")
    parser.add_argument("--detector", default=DEFAULTS.detector, choices=DETECTORS, help="shot detector")
    parser.add_argument("--threshold", type=float_in(0), default=None,
                        help="detector threshold (default: content 27, adaptive 3)")
    parser.add_argument("--min-shot-seconds", type=float_in(0, low_open=True), default=DEFAULTS.min_shot_seconds,
                        help="shortest shot the detector reports")
    parser.add_argument("--clip-seconds", type=float_in(0, low_open=True), default=DEFAULTS.clip_seconds,
                        help=f"shortest clip (default {DEFAULTS.clip_seconds:g} s)")
    parser.add_argument("--no-thumbnails", action="store_true", help="do not save keyframe thumbnails")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing data set at --out")
    _add_budget_arguments(parser)


def _add_budget_arguments(parser) -> None:
    """The media budget's options, their defaults read from :class:`~mmx_core.extract.budget.MediaBudget`."""
    from mmx_core.extract.budget import MEANINGS, OPTIONS

    defaults = DEFAULTS.budget
    group = parser.add_argument_group("media budget", "a video over a limit is reported as failed and never "
                                      "planned (docs/extract.md, 'Media budget')")
    for name, flag in OPTIONS.items():
        default = getattr(defaults, name)
        kind = int_in(1) if isinstance(default, int) else float_in(0, low_open=True)
        group.add_argument(flag, type=kind, default=default, help=MEANINGS[name])
    group.add_argument("--allow-partial", action="store_true",
                       help="keep what decodes of a truncated or damaged video (said in the report and the "
                            "manifest) instead of failing it")
    parser.add_argument("--strict", action="store_true",
                        help="refuse (exit 2, nothing written) when metadata rows match no video or one video "
                             "matches several rows, instead of warning")


def run(args) -> int:
    out = resolve_out(args.out, inputs=args.videos, reads=(args.meta,), overwrite=args.overwrite)  # before torch loads
    from mmx_core.extract.budget import OPTIONS, MediaBudget
    from mmx_core.extract.pipeline import extract_videos

    command = command_line("extract", args, positional=("videos",))
    named = {f.name: getattr(args, f.name) for f in dataclasses.fields(ExtractConfig) if hasattr(args, f.name)}
    config = ExtractConfig(**named, download=not args.no_download, thumbnails=not args.no_thumbnails,
                           budget=MediaBudget(**{name: getattr(args, name) for name in OPTIONS}))
    report = extract_videos(args.videos, out, config, meta=args.meta, resume=args.resume, overwrite=args.overwrite,
                            command=command)
    if report.out is not None:
        print(report.summary())
    for line in report.problem_lines():
        print(line, file=sys.stderr)
    return ExitCode.FAILED_INPUTS if report.failed else ExitCode.OK
