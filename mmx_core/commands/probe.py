"""``probe``: the Evaluate page's linear probe of an embedding set against its genre labels."""

from __future__ import annotations

import json

from mmx_core.base.console import print_block
from mmx_core.commands.argtypes import SEED, add_command, float_in, int_in


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "probe", run, help="linear probe of an embedding set's genres (the Evaluate page's probe; cached)",
        description="PCA of the unit-normalised vectors, one logistic regression per genre on a training share of "
        "the trailers, scored on the rest (fixed seed). Prints the paper's metrics and the cached predictions file; "
        "the Evaluate page reads the same file.")
    parser.add_argument("source", metavar="SET", help="an embedding set name (published, coarse, fine, run:<run>/<file>, "
                        "upload:<name>) or an embeddings .npz")
    parser.add_argument("--metadata", default=None, metavar="FILE",
                        help="trailer table with genres (default: the one beside the file, else the published table)")
    parser.add_argument("--seed", type=SEED, default=0, help="split seed (default: %(default)s)")
    parser.add_argument("--test-share", type=float_in(0, 1, low_open=True, high_open=True), default=0.2, help="share of trailers scored (default: %(default)s)")
    parser.add_argument("--components", type=int_in(1, 4096), default=128, help="PCA components (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from mmx_core.trailers.metrics import genre_metrics
    from mmx_core.evaluate.predictions import load_predictions
    from mmx_core.evaluate.probe import probe_path
    from mmx_core.evaluate.report import format_text
    from mmx_core.workspace import load_set

    emb = load_set(args.source, metadata=args.metadata)
    path = probe_path(emb, seed=args.seed, test_share=args.test_share, components=args.components)
    pred = load_predictions(path)
    report = genre_metrics(pred.scores, pred.labels, pred.genres)
    if args.json:
        print(json.dumps({"set": emb.name, "predictions": str(path), "f1_weighted": report.f1_weighted,
                          "auprc_weighted": report.auprc_weighted, "trailers_scored": report.n_trailers}))
    else:
        print_block(format_text([("probe", report)], title=f"Linear probe of {emb.name} ({path})"))
    return 0
