"""``evaluate``: a trained model's Table-2 report on one split of a data set."""

from __future__ import annotations

from mmx_core.base.console import print_block, print_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.outputs import PREDICTIONS, check_output, tag_output
from mmx_core.commands.argtypes import add_command, add_data, add_device, add_precision


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "evaluate", run, help="score a checkpoint on a data split like the paper's Table 2",
        description="Per-genre F1 with support, then F1w, AU(PRC)w, Pw, Rw and AU(PRC) micro/macro: one row at "
        "threshold 0.5 and one with per-genre thresholds tuned for F1 on the val split.")
    add_data(parser)
    parser.add_argument("--model", required=True, help="checkpoint file or run folder (its best checkpoint)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="split to score")
    parser.add_argument("--tune-split", default="val", choices=("train", "val", "test"),
                        help="split the per-genre thresholds are tuned on (default val)")
    add_device(parser)
    add_precision(parser)
    tag_output(parser.add_argument("--save-predictions", metavar="FILE.npz",
                                   help="also write the split's scores and labels (readable by the 'score' command)"),
               PREDICTIONS)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args) -> int:
    if args.save_predictions is not None:  # the output contract, before any work
        check_output(args.save_predictions, PREDICTIONS, option="--save-predictions", inputs=(args.data,),
                     reads=(args.model,), overwrite=True)
    from mmx_core.base.devices import resolve_precision
    from mmx_core.data import TrailerStore
    from mmx_core.evaluate.predictions import save_predictions
    from mmx_core.evaluate.report import format_text, report_json
    from mmx_core.evaluate.thresholds import evaluate_scores
    from mmx_core.train import load_checkpoint, predict_scores

    if args.split == args.tune_split:
        raise MMXError(f"--tune-split {args.tune_split} equals --split: tune the thresholds on another split")
    precision = resolve_precision(args.precision, args.device).record(args.precision)  # refused before any work
    store = TrailerStore.open(args.data)
    checkpoint = load_checkpoint(args.model)
    genres = list(store.manifest.genres)
    checkpoint_genres = list(getattr(checkpoint, "genres", genres) or genres)
    if checkpoint_genres != genres:
        raise MMXError(f"the model predicts genres {checkpoint_genres}, the data set has {genres}", args.model)
    for split in (args.split, args.tune_split):
        if len(store.split_indices(split)) == 0:
            raise MMXError(f"the {split} split is empty", args.data)
    scores, labels = predict_scores(store, checkpoint, args.split, device=args.device, precision=args.precision)
    tune_scores, tune_labels = predict_scores(store, checkpoint, args.tune_split, device=args.device,
                                              precision=args.precision)
    fixed, tuned, _ = evaluate_scores(tune_scores, tune_labels, scores, labels, genres)
    if args.save_predictions:
        save_predictions(args.save_predictions, scores, labels, genres, compute_precision=precision["precision"])
    if args.json:
        print_json(report_json(fixed, tuned, split=args.split, tune_split=args.tune_split, model=str(args.model),
                               data=str(args.data), compute_precision=precision))
    else:
        title = (f"{args.model} on {args.data} ({args.split} split; thresholds tuned on {args.tune_split}; "
                 f"computed in {precision['precision']})")
        print_block(format_text([("t=0.5", fixed), (f"tuned on {args.tune_split}", tuned)], title=title))
    return ExitCode.OK
