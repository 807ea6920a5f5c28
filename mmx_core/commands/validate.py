"""``validate``: check a trailer data set and list every problem with its file and row."""

from __future__ import annotations

import json
from pathlib import Path

from mmx_core.base.console import print_block
from mmx_core.commands.argtypes import add_command, int_in
from mmx_core.data.validate import format_report, validate_dataset
from mmx_core.base.paths import data_dir


def register(subparsers) -> None:
    parser = add_command(subparsers, "validate", run, help="check a trailer data set (exit 1 when it has problems)")
    parser.add_argument("path", metavar="DIR", help="data set folder (a bare name is also looked for under $MMX_DATA_DIR)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.add_argument("--quick", action="store_true", help="skip the NaN/Inf scan of every feature value")
    parser.add_argument("--max-rows", type=int_in(0), default=20, help="rows listed per check before the rest are counted")


def run(args) -> int:
    path = Path(args.path)
    if not path.exists() and len(path.parts) == 1 and (data_dir() / path).exists():
        path = data_dir() / path  # a bare name, as `synth --out NAME` writes it
    report = validate_dataset(path, deep=not args.quick, max_rows=args.max_rows)
    print_block(json.dumps(report.to_dict()) if args.json else format_report(report))
    return 0 if report.ok else 1
