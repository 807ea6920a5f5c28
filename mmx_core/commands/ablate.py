"""``ablate``: every Table-2 baseline and model variant on one data set -> docs/results.md."""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.artefacts import read_json
from mmx_core.base.console import print_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.outputs import DOC, WORK, check_output, tag_output
from mmx_core.base.paths import PROJECT_ROOT, runs_dir
from mmx_core.commands.argtypes import SEED, add_command, add_data, add_device, float_in, int_in
from mmx_core.commands.synth import command_line
from mmx_core.studies import RUN_DEFAULTS

TRAINING_KEYS = ("epochs", "fine_epochs", "batch_size", "lr", "fine_lr", "patience", "fine_patience")
"""The options of :func:`add_training_options` that set how every run trains (besides seed and device)."""


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "ablate", run, help="train and score the ablation of Table 2 and write docs/results.md",
        description="Random scores, each expert alone, naive concatenation, GEM without collaborative gating, the "
        "full model, and linear probes on the coarse and fine bottlenecks; every row scored on the test split at "
        "threshold 0.5 and with thresholds tuned on val. Finished runs under --work are reused.")
    add_training_options(parser)
    parser.add_argument("--variants", help="comma-separated subset of rows (names or slugs, e.g. 'random,full-model')")
    parser.add_argument("--no-probes", action="store_true", help="skip the linear probes (and the fine stage)")
    tag_output(parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "results.md"),
                                   help="Markdown file whose 'ablation' block is (re)written (default "
                                        "docs/results.md); '-' to write none"), DOC)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def add_training_options(parser) -> None:
    """Options shared by ``ablate`` and ``subgenre-eval`` for the runs they train."""
    add_data(parser, "trailer data set folder (train/val/test splits)")
    tag_output(parser.add_argument("--work", help="folder for the runs and the JSON results (default "
                                                  "runs/<command>-<data name>)"), WORK)
    parser.add_argument("--epochs", type=int_in(1), default=5, help="epochs of every coarse run (default 5)")
    parser.add_argument("--fine-epochs", type=int_in(1), help="epochs of the fine stage (default: --epochs)")
    parser.add_argument("--batch-size", type=int_in(1), help=f"batch size of every run (default {RUN_DEFAULTS['batch_size']})")
    parser.add_argument("--seed", type=SEED, default=0)
    add_device(parser)
    parser.add_argument("--lr", type=float_in(0, low_open=True), help="learning rate of the coarse runs (default: the coarse recipe's)")
    parser.add_argument("--fine-lr", type=float_in(0, low_open=True), help="learning rate of the fine stage (default: the fine recipe's)")
    parser.add_argument("--patience", type=int_in(0), help=f"early-stopping patience of every run (default {RUN_DEFAULTS['patience']})")
    parser.add_argument("--fine-patience", type=int_in(0),
                        help="early-stopping patience of the fine stage; 0 = no early stopping, keep the last epoch "
                             "(default: --patience)")
    parser.add_argument("--model-config", metavar="FILE.json",
                        help="JSON object of ModelConfig fields shared by every model (e.g. a small configuration)")


def model_overrides(path: str | None) -> dict:
    if not path:
        return {}
    overrides = read_json(path)
    if not isinstance(overrides, dict):
        raise MMXError("expected a JSON object of ModelConfig fields", path)
    return overrides


def checked_work(args, name: str) -> Path:
    """The ``--work`` folder (default runs/<name>-<data name>), once the output contract of ``ablate`` and
    ``subgenre-eval`` (``--work``, ``--out``) holds: checked before any work."""
    work = Path(args.work) if args.work is not None else runs_dir() / f"{name}-{Path(args.data).resolve().name}"
    reads = [getattr(args, key, None) for key in ("model_config", "coarse", "fine")]
    check_output(work, WORK, option="--work", inputs=(args.data,), reads=reads)
    if args.out != "-":
        check_output(args.out, DOC, inputs=(args.data,), reads=[*reads, work])
    return work


def run(args) -> int:
    work = checked_work(args, "ablate")  # before torch and the data load
    from mmx_core.studies.ablate import run_ablation
    from mmx_core.studies.ablate_table import ablation_markdown
    from mmx_core.studies.ablate_variants import default_variants
    from mmx_core.evaluate.results_doc import update_block

    data = Path(args.data)
    variants = None
    if args.variants or args.no_probes:
        from mmx_core.data import TrailerStore

        experts = list(TrailerStore.open(data).manifest.experts)
        variants = default_variants(experts, probes=not args.no_probes)
        if args.variants:
            wanted = [w.strip().lower() for w in args.variants.split(",") if w.strip()]
            known = {v.slug: v for v in variants} | {v.name.lower(): v for v in variants}
            unknown = [w for w in wanted if w not in known]
            if unknown:
                raise MMXError(f"--variants: unknown {unknown}; known: {sorted({v.slug for v in variants})}")
            variants = [v for v in variants if v.slug in {known[w].slug for w in wanted}]
    command = command_line("ablate", args, keys=["data", "work", *TRAINING_KEYS, "seed", "device", "model_config",
                                                 "variants", "no_probes", "out"])
    result = run_ablation(data, work, epochs=args.epochs, fine_epochs=args.fine_epochs, batch_size=args.batch_size,
                          seed=args.seed, model_overrides=model_overrides(args.model_config), variants=variants,
                          device=args.device, command=command, lr=args.lr, fine_lr=args.fine_lr,
                          patience=args.patience, fine_patience=args.fine_patience)
    out = update_block(args.out, "ablation", ablation_markdown(result)) if args.out != "-" else None
    if args.json:
        print_json(result.to_dict())
    else:
        for r in result.results:
            print(f"{r.variant.name:24s} AU(PRC)w {r.fixed.auprc_weighted:.3f}  F1w {r.fixed.f1_weighted:.3f}  "
                  f"F1w tuned {r.tuned.f1_weighted:.3f}")
        print(f"wrote {work / 'ablation.json'}" + (f" and {out}" if out else ""))
    return ExitCode.OK
