"""``docs``: rewrite the blocks the code defines, then refresh the includes of README.md, docs/*.md and models/README.md."""

from __future__ import annotations

from pathlib import Path

from mmx_core.base import docblocks
from mmx_core.base.artefacts import atomic_write
from mmx_core.base.paths import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "docs", help="rewrite every include of the docs from the generated block it quotes (--check: only report)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when an include is stale or a figure has no source (default: off)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT,
                        help="project folder holding README.md and docs/ (default: this project)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from mmx_core.studies import reference_docs  # the blocks the code defines (defaults, recipe, paper tables)

    root = Path(args.root)
    if args.check:
        problems = [f"{ref}: stale generated block; run `python -m mmx_core docs`"
                    for ref in reference_docs.stale_blocks(root)] + docblocks.check(root)
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s) in {len(docblocks.doc_files(root))} files")
        return 1 if problems else 0
    for path in reference_docs.write_blocks(root):
        print(f"updated {path.relative_to(root)} (generated block)")
    for path in docblocks.doc_files(root):
        text = docblocks.refresh(path)
        if text != path.read_text():
            with atomic_write(path, "w") as handle:
                handle.write(text)
            print(f"updated {path.relative_to(root)}")
    return 0
