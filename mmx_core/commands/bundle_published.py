"""``bundle-published``: copy the authors' published embeddings into assets/."""

from __future__ import annotations

import json

from mmx_core.base.assets import PUBLISHED_DIR, bundle_published
from mmx_core.base.paths import PROJECT_ROOT


def register(subparsers) -> None:
    parser = subparsers.add_parser("bundle-published", help="copy the published embeddings into assets/published")
    parser.add_argument("--src", default=str(PROJECT_ROOT.parent / "shared" / "datasets" / "mmx-published"))
    parser.add_argument("--out", default=str(PUBLISHED_DIR))
    parser.set_defaults(func=run)


def run(args) -> int:
    print(json.dumps(bundle_published(args.src, args.out), indent=2))
    return 0
