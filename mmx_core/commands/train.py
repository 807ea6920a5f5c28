"""``train``: train the coarse (genre) or fine (contrastive) stage on a trailer data set."""

from __future__ import annotations

import dataclasses
import logging

from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import RUN, check_output, tag_output
from mmx_core.commands.argtypes import SEED, THREADS, add_command, add_data, add_device, add_precision, option_type
from mmx_core.model.config import FUSIONS, GEM_SCALES, SEQUENCE_ENCODERS
from mmx_core.model.config import LIMITS as MODEL_LIMITS
from mmx_core.train.config import LIMITS, STAGE_RECIPES, STAGES, TrainConfig

MODEL_OPTIONS = ("shared_dim", "sequence_dim", "bottleneck_dim", "gating_hidden", "head_hidden", "projection_dim",
                 "vlad_clusters", "vlad_ghost_clusters", "train_sequences", "dropout", "fusion", "experts",
                 "sequence_encoder", "gem_scale")


def _recipe(option: str) -> str:
    """How the per-stage default of ``option`` (:data:`~mmx_core.train.config.STAGE_RECIPES`) reads in --help."""
    return ", ".join(f"{stage} {recipe[option]:g}" for stage, recipe in STAGE_RECIPES.items())


def _default(field: str):
    """The default of :class:`~mmx_core.train.config.TrainConfig`'s ``field``."""
    return TrainConfig.__dataclass_fields__[field].default


def _type(field: str):
    """The argparse ``type`` of the option setting ``field``: TrainConfig's own limit (:data:`LIMITS`)."""
    return option_type(LIMITS[field])


def register(subparsers) -> None:
    parser = add_command(subparsers, "train", run, help="train the coarse or fine stage of the encoder",
        description="Train the paper's encoder. Writes RUN_DIR/config.json, events.jsonl, status.json and "
        "checkpoints/last.pt (every epoch) and best.pt. Under `torchrun --nproc_per_node=N` the same command "
        "trains with DistributedDataParallel.")
    parser.add_argument("--stage", choices=STAGES, required=True)
    add_data(parser)
    tag_output(parser.add_argument("--out", required=True, help="run folder"), RUN)
    parser.add_argument("--init", help="checkpoint file or run folder (its best.pt) to start from; required by fine")
    parser.add_argument("--epochs", type=_type("epochs"), help=f"maximum epochs (default: {_recipe('epochs')})")
    parser.add_argument("--batch-size", type=_type("batch_size"),
                        help=f"trailers per step, global under DDP (default: {_recipe('batch_size')})")
    add_device(parser)
    add_precision(parser, " (recorded in RUN_DIR/config.json)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoints/last.pt")
    parser.add_argument("--lr", type=_type("lr"), help=f"learning rate (default: {_recipe('lr')})")
    parser.add_argument("--weight-decay", type=_type("weight_decay"), default=_default("weight_decay"))
    parser.add_argument("--patience", type=_type("patience"),
                        help="early stopping patience in epochs, 0: no early stopping, keep the last epoch "
                             f"(default: {_recipe('patience')})")
    parser.add_argument("--temperature", type=_type("temperature"), default=_default("temperature"),
                        help="NT-Xent temperature (fine)")
    parser.add_argument("--tags", metavar="FILE.csv", default=None,
                        help="fine stage: an annotations CSV (columns id,tag); training trailers sharing a tag are "
                             "pulled together by a supervised contrastive term beside NT-Xent (default: none, the "
                             "plain fine stage)")
    parser.add_argument("--tag-weight", type=_type("tag_weight"),
                        help=f"weight of that term, loss = NT-Xent + W * SupCon + P * prototype "
                             f"(default: {_default('tag_weight'):g})")
    parser.add_argument("--tag-prototype-weight", type=_type("tag_prototype_weight"),
                        help="P: weight of the term pulling each tagged trailer to its tags' mean direction over "
                             f"all tagged trailers, 0: off (default: {_default('tag_prototype_weight'):g})")
    parser.add_argument("--threads", type=THREADS, default=None, help="torch CPU threads (default: torch's choice; "
                        "1 is faster when other jobs share the cores)")
    group = parser.add_argument_group("model size (coarse runs without --init; default: ModelConfig)")
    for name in MODEL_OPTIONS[:-4]:
        group.add_argument("--" + name.replace("_", "-"), type=option_type(MODEL_LIMITS[name]), default=None)
    group.add_argument("--fusion", choices=FUSIONS, default=None)
    group.add_argument("--experts", default=None, help="comma-separated subset, e.g. image or image,audio")
    group.add_argument("--sequence-encoder", choices=SEQUENCE_ENCODERS, default=None,
                       help="'mlp' = the paper's MLP over the concatenated clips (default); 'mlp+mean' adds a "
                            "linear path from the mean of the clips")
    group.add_argument("--gem-scale", choices=GEM_SCALES, default=None,
                       help="norm of every GEM output: 'unit' = the paper (default); 'sqrt_dim' = sqrt(shared_dim)")


def model_overrides(args) -> dict:
    overrides = {name: getattr(args, name) for name in MODEL_OPTIONS if getattr(args, name, None) is not None}
    if "experts" in overrides:
        overrides["experts"] = tuple(e.strip() for e in overrides["experts"].split(",") if e.strip())
    return overrides


def train_config(args) -> TrainConfig:
    """The run's settings: the options given, the stage's recipe (and TrainConfig's defaults) for the rest."""
    from mmx_core.data import read_manifest
    from mmx_core.model import ModelConfig

    given = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(TrainConfig)}  # options named as fields
    overrides = model_overrides(args)
    if overrides:
        given["model"] = ModelConfig.for_store(read_manifest(args.data), **overrides)
    return TrainConfig(**{name: value for name, value in given.items() if value is not None})


def run(args) -> int:
    check_output(args.out, RUN, inputs=(args.data,), reads=(args.init, args.tags))  # before torch and the data load
    from mmx_core.train import train

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = train(train_config(args))
    logging.getLogger(__name__).info("run finished: %s (best checkpoint %s)", out, out / "checkpoints" / "best.pt")
    return ExitCode.OK
