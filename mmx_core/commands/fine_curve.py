"""``fine-curve``: sub-genre precision@10 of the coarse bottleneck, then of the fine one after every fine epoch."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from mmx_core.base.outputs import WORK, check_output, tag_output
from mmx_core.commands.argtypes import THREADS, add_command, add_data, float_in, int_in
from mmx_core.studies.fine_curve import FineCurveSpec, fine_stage_curve

DEFAULTS = FineCurveSpec(Path(), Path())
"""The study's own defaults, which the options show and take."""


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "fine-curve", run,
        help="sub-genre precision@10 of a planted set after every fine epoch (the third-round study)",
        description="Trains a coarse run under --work (reused when finished), then the fine stage one epoch at a "
        "time, scoring the fine bottleneck's sub-genre precision@10 over all trailers after each epoch. Prints "
        "each epoch's figure, then one JSON line.")
    add_data(parser, help="a planted data set (has a 'subgenre' column)")
    tag_output(parser.add_argument("--work", required=True, help="folder for the coarse and fine runs"), WORK)
    parser.add_argument("--sequence-encoder", choices=["mlp", "mlp+mean"],
                        default=DEFAULTS.sequence_encoder)
    parser.add_argument("--coarse-epochs", type=int_in(1), default=DEFAULTS.coarse_epochs)
    parser.add_argument("--fine-epochs", type=int_in(1), default=DEFAULTS.fine_epochs)
    parser.add_argument("--fine-lr", type=float_in(0, low_open=True), default=DEFAULTS.fine_lr,
                        help="learning rate of the fine stage")
    parser.add_argument("--temperature", type=float_in(0, low_open=True), default=DEFAULTS.temperature,
                        help="contrastive temperature of the fine stage")
    parser.add_argument("--fine-batch-size", type=int_in(1), default=DEFAULTS.fine_batch_size,
                        help="batch size of the fine stage")
    parser.add_argument("--threads", type=THREADS, default=1, help="torch threads")


def run(args) -> int:
    work = check_output(args.work, WORK, option="--work", inputs=(args.data,))
    import torch

    logging.disable(logging.INFO)
    torch.set_num_threads(args.threads)
    spec = FineCurveSpec(Path(args.data), work, sequence_encoder=args.sequence_encoder,
                         coarse_epochs=args.coarse_epochs, fine_epochs=args.fine_epochs, fine_lr=args.fine_lr,
                         temperature=args.temperature, fine_batch_size=args.fine_batch_size)
    result = fine_stage_curve(spec, on_epoch=lambda epoch, value: print(epoch, value, flush=True))
    print(json.dumps({**result, "data": args.data}))
    return 0
