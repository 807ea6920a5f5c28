"""``docs``: rewrite the blocks the code defines, then refresh the includes of README.md, docs/*.md and models/README.md."""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.commands.argtypes import add_command


def register(subparsers) -> None:
    parser = add_command(subparsers, "docs", run, help="rewrite every include of the docs from the generated block it "
                         "quotes (--check: only report)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when an include is stale or a figure has no source (default: off)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT,
                        help="project folder holding README.md and docs/ (default: this project)")


def run(args) -> int:
    from mmx_core.docs import build  # renders the blocks from every layer's code: imported only when asked

    root = Path(args.root)
    if args.check:
        problems = build.check(root)
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) in {len(build.doc_files(root))} files")
        return 1 if problems else 0
    for path in build.write_blocks(root):
        print(f"updated {path.relative_to(root)} (generated block)")
    for path in build.refresh_includes(root):
        print(f"updated {path.relative_to(root)}")
    return 0
