"""``import-mmx``: convert the authors' MMX-Trailer-20 feature tree into a data set.

Exit codes: 0 when every file was imported; 1 when any file was refused or skipped (the data set
of what could be imported is written all the same, the last line says so); 2 when nothing could
be written (one-line error). ``--allow-skips`` makes 1 a 0 for those who accept partial results.
"""

from __future__ import annotations

import sys

from mmx_core.base.safeio import escape_control
from mmx_core.commands.argtypes import add_command, int_in
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import DATASET, tag_output
from mmx_core.commands.synth import OUT_HELP, command_line, parse_dims, resolve_out
from mmx_core.data.importer import import_mmx


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "import-mmx", run,
        help="import features in the authors' <genre>/<trailer>/<scene>/<clip>/<expert>/*.pt layout",
        description="Import MMX-Trailer-20 features from the authors' layout. Resumes an interrupted import of the "
                    "same --out unless --restart is given.")
    parser.add_argument("src", metavar="SRC", help="root of the tree (holds one folder per genre)")
    tag_output(parser.add_argument("--out", required=True, help=OUT_HELP), DATASET)
    parser.add_argument("--dims", default=None, help="expected dims, e.g. image=2048,scene=2048,motion=512,audio=128")
    parser.add_argument("--test-sampling", action="store_true", help="read the test-prefixed expert folders")
    parser.add_argument("--restart", action="store_true", help="discard an interrupted import instead of resuming")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing data set at --out")
    parser.add_argument("--allow-skips", action="store_true",
                        help="exit 0 even when files were refused or skipped (the default exits 1 then, after "
                             "keeping what could be imported)")
    parser.add_argument("--strict", action="store_true",
                        help="accepted for old scripts, no effect: exiting 1 on any problem is the default now")
    parser.add_argument("--show", type=int_in(0), default=20, help="problems printed (all are in import_report.json)")


def run(args) -> int:
    command = command_line("import-mmx", args, positional=("src",))
    out = resolve_out(args.out, inputs=(args.src,), overwrite=args.overwrite)
    result = import_mmx(args.src, out, dims=parse_dims(args.dims), test_sampling=args.test_sampling,
                        restart=args.restart, overwrite=args.overwrite, command=command)
    resumed = f", {result.resumed} done by an earlier run" if result.resumed else ""
    where = escape_control(result.path)
    print(f"imported {result.trailers} trailers ({result.clips} clips) into {where}{resumed}; "
          f"{result.skipped} skipped; {len(result.problems)} problem(s)")
    for problem in result.problems[:args.show]:
        print(f"  {problem['file']}: {problem['message']}")
    if len(result.problems) > args.show:
        print(f"  ... {len(result.problems) - args.show} more in {where}/import_report.json")
    if result.problems and not args.allow_skips:
        print(f"error: {len(result.problems)} problem(s) while importing ({result.skipped} trailer(s) skipped); the "
              f"{result.trailers} imported trailers are kept in {where}; see import_report.json, or pass "
              "--allow-skips to accept partial results", file=sys.stderr)
        return ExitCode.FAILED_INPUTS
    return ExitCode.OK
