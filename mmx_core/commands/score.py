"""``score``: the paper's metrics for any model's predictions file."""

from __future__ import annotations

from mmx_core.base.console import print_block, print_json
from mmx_core.trailers.metrics import genre_metrics
from mmx_core.commands.argtypes import add_command, float_in
from mmx_core.evaluate.predictions import load_predictions
from mmx_core.evaluate.report import format_text, report_json
from mmx_core.evaluate.thresholds import tune_thresholds
from mmx_core.base.errors import MMXError


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "score", run, help="score a predictions .npz (scores N x G, labels N x G, optional genres)",
        description="Compute F1/precision/recall (weighted) and AU(PRC) micro/macro/weighted, as in Table 2 "
        "of the paper, for an .npz with arrays 'scores' (N x G), 'labels' (N x G, 0/1) and optional 'genres'.")
    parser.add_argument("predictions", help="the .npz file to score")
    parser.add_argument("--threshold", type=float_in(0, 1), default=0.5, help="decision threshold of the first row (default 0.5)")
    parser.add_argument("--tune-on", metavar="VAL.npz", help="a validation predictions file: adds a row with "
                        "per-genre thresholds tuned on it for F1")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args) -> int:
    predictions = load_predictions(args.predictions)
    report = genre_metrics(predictions.scores, predictions.labels, predictions.genres, threshold=args.threshold)
    tuned = None
    if args.tune_on:
        val = load_predictions(args.tune_on)
        if val.genres != predictions.genres:
            raise MMXError(f"genres differ from those of {args.predictions}", args.tune_on)
        thresholds = tune_thresholds(val.scores, val.labels, val.genres)
        tuned = genre_metrics(predictions.scores, predictions.labels, predictions.genres, threshold=thresholds)
    if args.json:
        print_json(report_json(report, tuned))
    else:
        rows = [(f"t={args.threshold:g}", report)] + ([("tuned on val", tuned)] if tuned is not None else [])
        print_block(format_text(rows, title=f"Scores of {args.predictions}"))
    return 0
