"""``import-mmx``: convert the authors' MMX-Trailer-20 feature tree into a data set."""

from __future__ import annotations

from mmx_core.commands._args import int_in
from mmx_core.data.importer import import_mmx
from mmx_core.commands.synth import command_line, parse_dims, resolve_out


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import-mmx", help="import features in the authors' <genre>/<trailer>/<scene>/<clip>/<expert>/*.pt layout",
        description="Import MMX-Trailer-20 features from the authors' layout. Resumes an interrupted import of the "
                    "same --out unless --restart is given.")
    parser.add_argument("src", metavar="SRC", help="root of the tree (holds one folder per genre)")
    parser.add_argument("--out", required=True, help="destination folder (a bare name goes under $MMX_DATA_DIR)")
    parser.add_argument("--dims", default=None, help="expected dims, e.g. image=2048,scene=2048,motion=512,audio=128")
    parser.add_argument("--test-sampling", action="store_true", help="read the test-prefixed expert folders")
    parser.add_argument("--restart", action="store_true", help="discard an interrupted import instead of resuming")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing data set at --out")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any problem was reported")
    parser.add_argument("--show", type=int_in(0), default=20, help="problems printed (all are in import_report.json)")
    parser.set_defaults(func=run)


def run(args) -> int:
    command = command_line("import-mmx", args, positional=("src",))
    result = import_mmx(args.src, resolve_out(args.out), dims=parse_dims(args.dims), test_sampling=args.test_sampling,
                        restart=args.restart, overwrite=args.overwrite, command=command)
    resumed = f", {result.resumed} done by an earlier run" if result.resumed else ""
    print(f"imported {result.trailers} trailers ({result.clips} clips) into {result.path}{resumed}; "
          f"{result.skipped} skipped; {len(result.problems)} problem(s)")
    for problem in result.problems[:args.show]:
        print(f"  {problem['file']}: {problem['message']}")
    if len(result.problems) > args.show:
        print(f"  ... {len(result.problems) - args.show} more in {result.path / 'import_report.json'}")
    return 1 if args.strict and result.problems else 0
