"""``subgenre-eval``: coarse vs fine embeddings against planted sub-genres -> docs/results.md."""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.console import print_json
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import DOC, tag_output
from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.commands.argtypes import add_command, int_in
from mmx_core.commands.ablate import TRAINING_KEYS, add_training_options, checked_work, model_overrides
from mmx_core.commands.synth import command_line


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "subgenre-eval", run, help="how well coarse and fine embeddings recover a planted set's sub-genres",
        description="Adjusted Rand index and NMI of HDBSCAN clusters against the 'subgenre' column, and "
        "sub-genre precision@k of cosine neighbours, for the coarse and the fine bottleneck. Either give "
        "--coarse and --fine checkpoints, or let the command train both on --data (runs under --work, reused "
        "when finished).")
    add_training_options(parser)
    parser.add_argument("--coarse", help="coarse checkpoint, run folder or embeddings .npz (default: train one)")
    parser.add_argument("--fine", help="fine checkpoint, run folder or embeddings .npz "
                        "(default: train one from the coarse run)")
    parser.add_argument("--split", default="all", choices=("all", "train", "val", "test"),
                        help="trailers to score (default all; 'test' = trailers no run trained on)")
    parser.add_argument("--k", type=int_in(1), default=10, help="neighbours for precision@k (default 10)")
    parser.add_argument("--min-cluster-size", type=int_in(2), default=15, help="HDBSCAN min_cluster_size (default 15)")
    parser.add_argument("--space", default="umap10", choices=("umap10", "raw"), help="space HDBSCAN clusters in")
    tag_output(parser.add_argument("--out", default=str(PROJECT_ROOT / "docs" / "results.md"),
                                   help="Markdown file whose 'subgenre' block is (re)written; '-' to write none"), DOC)
    parser.add_argument("--no-probe", action="store_true", help="skip the sub-genre probe accuracy diagnostic")
    parser.add_argument("--block", help="name of the generated block in --out (default subgenre-<split>)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args) -> int:
    work = checked_work(args, "subgenre")  # before torch and the data load
    from mmx_core.base.artefacts import write_json
    from mmx_core.data import TrailerStore
    from mmx_core.studies.ablate_runs import stage_settings, train_variant
    from mmx_core.evaluate.results_doc import update_block
    from mmx_core.studies.subgenre import run_subgenre_experiment, subgenre_markdown

    data = Path(args.data)
    coarse, fine = args.coarse, args.fine
    if coarse is None or fine is None:
        store = TrailerStore.open(data)
        coarse_settings, fine_settings = stage_settings(**{key: getattr(args, key)
                                                           for key in (*TRAINING_KEYS, "seed", "device")})
        if coarse is None:
            overrides = {**model_overrides(args.model_config), "fusion": "collaborative"}
            coarse = train_variant(store, data, work / "runs" / "coarse", stage="coarse", model_overrides=overrides,
                                   **coarse_settings)
        if fine is None:
            from mmx_core.train.checkpoint import run_checkpoint

            init = run_checkpoint(Path(coarse)) if Path(coarse).is_dir() else Path(coarse)
            fine = train_variant(store, data, work / "runs" / "fine", stage="fine", init=init, model_overrides={},
                                 **fine_settings)
    trained = [] if args.coarse and args.fine else [*TRAINING_KEYS, "model_config"]
    options = ["data", "work", *trained, "seed", "device", "coarse", "fine", "split", "k", "min_cluster_size", "space",
               "no_probe", "out", "block"]
    command = command_line("subgenre-eval", args, keys=options)
    experiment = run_subgenre_experiment(data, {"coarse": coarse, "fine": fine}, split=args.split, k=args.k,
                                         min_cluster_size=args.min_cluster_size, space=args.space, seed=args.seed,
                                         device=args.device, command=command, probe=not args.no_probe,
                                         embeddings_dir=work / "embeddings")
    result_file = work / f"subgenre-{args.split}-{args.space}-mcs{args.min_cluster_size}-k{args.k}.json"
    write_json(result_file, experiment.to_dict())
    if args.out != "-":
        update_block(args.out, args.block or f"subgenre-{args.split}", subgenre_markdown([experiment]))
    if args.json:
        print_json(experiment.to_dict())
    else:
        for name, r in experiment.rows.items():
            print(f"{name:8s} ARI {r.ari:.3f}  NMI {r.nmi:.3f}  precision@{r.k} {r.precision_at_k:.3f}  "
                  f"clusters {r.n_clusters}  noise {r.noise_fraction:.2f}  probe accuracy {r.probe_accuracy:.3f}")
        print(f"chance precision@{args.k} {experiment.chance_precision:.3f}; wrote {result_file}")
    return ExitCode.OK
