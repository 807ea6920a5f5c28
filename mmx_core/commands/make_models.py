"""``make-models``: reproduce the shipped coarse and fine encoders in models/."""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import DATASET, MODELS, WORK, check_output, tag_output
from mmx_core.commands.argtypes import SEED, THREADS, add_command, add_device, int_in
from mmx_core.studies.release import ReleaseConfig, make_models


def register(subparsers) -> None:
    d = ReleaseConfig()
    parser = add_command(
        subparsers, "make-models", run, help="generate the published-latent data, train coarse + fine, write models/",
        description="synth --latent published into --data, train the coarse and fine stages (resumable run "
        "folders under --runs), export models/coarse.pt and models/fine.pt, embed every trailer and write "
        "models/README.md (model card).")
    tag_output(parser.add_argument("--data", type=Path, default=d.data,
                                   help=f"data set folder, generated once then reused (default {d.data})"), DATASET)
    tag_output(parser.add_argument("--runs", type=Path, default=d.runs, help=f"run folders (default {d.runs})"), WORK)
    tag_output(parser.add_argument("--out", type=Path, default=d.out, help=f"models folder (default {d.out})"), MODELS)
    parser.add_argument("--seed", type=SEED, default=d.seed)
    parser.add_argument("--trailers", type=int_in(1), default=None, help="fewer trailers, for a quick check (default all)")
    parser.add_argument("--coarse-epochs", type=int_in(1), default=d.coarse_epochs)
    parser.add_argument("--fine-epochs", type=int_in(1), default=d.fine_epochs)
    parser.add_argument("--batch-size", type=int_in(1), default=d.batch_size)
    add_device(parser, d.device)
    parser.add_argument("--threads", type=THREADS, default=None, help="torch CPU threads (default: torch's choice)")


def run(args) -> int:
    # the output contract, before any work: the data set is generated once, then reused as it is
    check_output(args.data, DATASET, option="--data", overwrite=True)
    check_output(args.runs, WORK, option="--runs", reads=(args.data,))
    check_output(args.out, MODELS, reads=(args.data, args.runs))
    config = ReleaseConfig(data=args.data, runs=args.runs, out=args.out, seed=args.seed, trailers=args.trailers,
                           coarse_epochs=args.coarse_epochs, fine_epochs=args.fine_epochs, batch_size=args.batch_size,
                           device=args.device, threads=args.threads)
    results = make_models(config)
    print(f"wrote {args.out} in {results['timings']['total_s'] / 60:.1f} min; see {args.out / 'README.md'}")
    return ExitCode.OK
