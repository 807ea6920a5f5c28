"""``bundle-published``: copy the authors' published embeddings into assets/."""

from __future__ import annotations

from mmx_core.base.console import print_json
from mmx_core.trailers.published import PUBLISHED_DIR, bundle_published
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import PUBLISHED, tag_output
from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.commands.argtypes import add_command


def register(subparsers) -> None:
    parser = add_command(subparsers, "bundle-published", run,
                         help="copy the published embeddings into assets/published")
    parser.add_argument("--src", default=str(PROJECT_ROOT.parent / "shared" / "datasets" / "mmx-published"))
    tag_output(parser.add_argument("--out", default=str(PUBLISHED_DIR)), PUBLISHED)


def run(args) -> int:
    print_json(bundle_published(args.src, args.out))
    return ExitCode.OK
