"""``bundle-published``: copy the authors' published embeddings into assets/."""

from __future__ import annotations

import json

from mmx_core.base.console import print_block
from mmx_core.trailers.published import PUBLISHED_DIR, bundle_published
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import PUBLISHED, tag_output
from mmx_core.base.paths import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser("bundle-published", help="copy the published embeddings into assets/published")
    parser.add_argument("--src", default=str(PROJECT_ROOT.parent / "shared" / "datasets" / "mmx-published"))
    tag_output(parser.add_argument("--out", default=str(PUBLISHED_DIR)), PUBLISHED)
    parser.set_defaults(func=run)


def run(args) -> int:
    print_block(json.dumps(bundle_published(args.src, args.out), indent=2))
    return ExitCode.OK
