"""``extract``: video files -> a trailer data set (expert features, shots, clips, thumbnails)."""

from __future__ import annotations

import argparse
import sys

from mmx_core.base.devices import DEFAULT_DEVICE, DEVICES
from mmx_core.commands.argtypes import THREADS, float_in, int_in
from mmx_core.commands.synth import command_line, resolve_out



def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "extract", help="extract expert features from video files into a data set",
        description="Decode videos (PyAV), find shots (PySceneDetect), cut them into clips and run the experts. "
                    "Under torchrun the videos are shared across ranks. See docs/extract.md.")
    parser.add_argument("videos", metavar="VIDEOS", nargs="+", help="a folder of videos (recursive) or video files")
    parser.add_argument("--out", required=True, help="destination folder (a bare name goes under $MMX_DATA_DIR)")
    parser.add_argument("--meta", default=None, help="metadata table (CSV or parquet): id or file, title, year, "
                                                     "genres (list or 'A|B'), optional split")
    parser.add_argument("--experts", default="image,scene,motion,audio", help="comma-separated experts")
    parser.add_argument("--device", default=DEFAULT_DEVICE, choices=DEVICES,
                        help="auto: a CUDA GPU when torch sees one (one per torchrun rank), else the CPU")
    parser.add_argument("--batch-size", type=int_in(1), default=8,
                        help="clips (audio: 0.96 s examples) per forward pass (default 8)")
    parser.add_argument("--workers", type=int_in(0, 256), default=1, help="decoding processes (0: decode in this process)")
    parser.add_argument("--threads", type=THREADS, default=None,
                        help="torch threads for the experts (default: torch's own; results are byte-identical "
                             "between runs with the same threads per process)")
    parser.add_argument("--weights-dir", default=None, help="folder holding the experts' weights files")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted extraction into --out")
    parser.add_argument("--untrained", action="store_true",
                        help="random backbone weights, for testing the pipeline only (recorded in the manifest)")
    parser.add_argument("--no-download", action="store_true",
                        help="never download weights files; only look in --weights-dir and the torch cache")
    parser.add_argument("--detector", default="content", choices=("content", "adaptive"), help="shot detector")
    parser.add_argument("--threshold", type=float_in(0), default=None,
                        help="detector threshold (default: content 27, adaptive 3)")
    parser.add_argument("--min-shot-seconds", type=float_in(0, low_open=True), default=0.5, help="shortest shot the detector reports")
    parser.add_argument("--clip-seconds", type=float_in(0, low_open=True), default=2.0, help="shortest clip (default 2 s)")
    parser.add_argument("--no-thumbnails", action="store_true", help="do not save keyframe thumbnails")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing data set at --out")
    parser.set_defaults(func=run)


def run(args) -> int:
    from mmx_core.extract.pipeline import extract_videos

    options = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "videos"})
    command = command_line("extract", options).replace(
        "python -m mmx_core extract", "python -m mmx_core extract " + " ".join(args.videos), 1)
    report = extract_videos(
        args.videos, resolve_out(args.out), meta=args.meta, experts=args.experts, device=args.device,
        batch_size=args.batch_size, workers=args.workers, threads=args.threads, weights_dir=args.weights_dir, resume=args.resume,
        untrained=args.untrained, download=not args.no_download, detector=args.detector, threshold=args.threshold,
        min_shot_seconds=args.min_shot_seconds, clip_seconds=args.clip_seconds,
        thumbnails=not args.no_thumbnails, overwrite=args.overwrite, command=command)
    if report.out is not None:
        resumed = f", {report.resumed} done by an earlier run" if report.resumed else ""
        marker = " (untrained backbones)" if report.untrained else ""
        print(f"extracted {report.videos - len(report.failed)} of {report.videos} videos ({report.clips} clips) "
              f"into {report.out}{marker} in {report.seconds:.1f} s{resumed}")
    if report.failed:
        print(f"{len(report.failed)} video(s) failed:", file=sys.stderr)
        for file, reason in report.failed:
            print(f"  {file}: {reason}", file=sys.stderr)
        return 1
    return 0
