"""``train``: train the coarse (genre) or fine (contrastive) stage on a trailer data set."""

from __future__ import annotations

import logging

from mmx_core.base.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DEVICES, PRECISION_HELP, PRECISIONS
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import RUN, check_output, tag_output
from mmx_core.commands.argtypes import SEED, THREADS, float_in, int_in
from mmx_core.model.config import FUSIONS, GEM_SCALES, SEQUENCE_ENCODERS

MODEL_OPTIONS = ("shared_dim", "sequence_dim", "bottleneck_dim", "gating_hidden", "head_hidden", "projection_dim",
                 "vlad_clusters", "vlad_ghost_clusters", "train_sequences", "dropout", "fusion", "experts", "sequence_encoder", "gem_scale")


def _recipe(option: str) -> str:
    """How the per-stage default of ``option`` reads in --help."""
    from mmx_core.train.config import STAGE_RECIPES

    return ", ".join(f"{stage} {recipe[option]:g}" for stage, recipe in STAGE_RECIPES.items())


def _default(field: str):
    """The default of :class:`~mmx_core.train.config.TrainConfig`'s ``field``, as --help shows it."""
    from mmx_core.train.config import TrainConfig

    return TrainConfig.__dataclass_fields__[field].default


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train the coarse or fine stage of the encoder",
        description="Train the paper's encoder. Writes RUN_DIR/config.json, events.jsonl, status.json and "
        "checkpoints/last.pt (every epoch) and best.pt. Under `torchrun --nproc_per_node=N` the same command "
        "trains with DistributedDataParallel.")
    parser.add_argument("--stage", choices=("coarse", "fine"), required=True)
    parser.add_argument("--data", required=True, help="trailer data set folder")
    tag_output(parser.add_argument("--out", required=True, help="run folder"), RUN)
    parser.add_argument("--init", help="checkpoint file or run folder (its best.pt) to start from; required by fine")
    parser.add_argument("--epochs", type=int_in(1), default=None, help=f"maximum epochs (default: {_recipe('epochs')})")
    parser.add_argument("--batch-size", type=int_in(1), default=None,
                        help=f"trailers per step, global under DDP (default: {_recipe('batch_size')})")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE, help="auto: a CUDA GPU when torch sees one, else the CPU")
    parser.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                        help=PRECISION_HELP + " (recorded in RUN_DIR/config.json)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoints/last.pt")
    parser.add_argument("--lr", type=float_in(0, low_open=True), default=None, help=f"learning rate (default: {_recipe('lr')})")
    parser.add_argument("--weight-decay", type=float_in(0), default=1e-4)
    parser.add_argument("--patience", type=int_in(0), default=None,
                        help="early stopping patience in epochs, 0: no early stopping, keep the last epoch "
                             f"(default: {_recipe('patience')})")
    parser.add_argument("--temperature", type=float_in(0, low_open=True), default=0.5, help="NT-Xent temperature (fine)")
    parser.add_argument("--tags", metavar="FILE.csv", default=None,
                        help="fine stage: an annotations CSV (columns id,tag); training trailers sharing a tag are "
                             "pulled together by a supervised contrastive term beside NT-Xent (default: none, the "
                             "plain fine stage)")
    parser.add_argument("--tag-weight", type=float_in(0, low_open=True), default=None,
                        help=f"weight of that term, loss = NT-Xent + W * SupCon + P * prototype "
                             f"(default: {_default('tag_weight'):g})")
    parser.add_argument("--tag-prototype-weight", type=float_in(0), default=None,
                        help="P: weight of the term pulling each tagged trailer to its tags' mean direction over "
                             f"all tagged trailers, 0: off (default: {_default('tag_prototype_weight'):g})")
    parser.add_argument("--threads", type=THREADS, default=None, help="torch CPU threads (default: torch's choice; "
                        "1 is faster when other jobs share the cores)")
    group = parser.add_argument_group("model size (coarse runs without --init; default: ModelConfig)")
    for name in MODEL_OPTIONS[:-4]:
        kind = float_in(0, 1, high_open=True) if name == "dropout" else int_in(1)
        group.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    group.add_argument("--fusion", choices=FUSIONS, default=None)
    group.add_argument("--experts", default=None, help="comma-separated subset, e.g. image or image,audio")
    group.add_argument("--sequence-encoder", choices=SEQUENCE_ENCODERS, default=None,
                       help="'mlp' = the paper's MLP over the concatenated clips (default); 'mlp+mean' adds a "
                            "linear path from the mean of the clips")
    group.add_argument("--gem-scale", choices=GEM_SCALES, default=None,
                       help="norm of every GEM output: 'unit' = the paper (default); 'sqrt_dim' = sqrt(shared_dim)")
    parser.set_defaults(func=run)


def model_overrides(args) -> dict:
    overrides = {name: getattr(args, name) for name in MODEL_OPTIONS if getattr(args, name, None) is not None}
    if "experts" in overrides:
        overrides["experts"] = tuple(e.strip() for e in overrides["experts"].split(",") if e.strip())
    return overrides


def run(args) -> int:
    check_output(args.out, RUN, inputs=(args.data,), reads=(args.init, args.tags))  # before torch and the data load
    from mmx_core.data import read_manifest
    from mmx_core.model import ModelConfig
    from mmx_core.train import TrainConfig, train

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    overrides = model_overrides(args)
    model = ModelConfig.for_store(read_manifest(args.data), **overrides) if overrides else None
    config = TrainConfig.recipe(args.stage, data=args.data, out=args.out, init=args.init, epochs=args.epochs,
                                batch_size=args.batch_size, device=args.device, seed=args.seed, model=model,
                                resume=args.resume, lr=args.lr, weight_decay=args.weight_decay,
                                patience=args.patience, temperature=args.temperature, tags=args.tags,
                                precision=args.precision,
                                tag_weight=args.tag_weight, tag_prototype_weight=args.tag_prototype_weight)
    out = train(config)
    logging.getLogger(__name__).info("run finished: %s (best checkpoint %s)", out, out / "checkpoints" / "best.pt")
    return ExitCode.OK
