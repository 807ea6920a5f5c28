"""``cluster``: HDBSCAN sub-genres of an embeddings file with labels and summaries, cached."""

from __future__ import annotations

from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import ARTEFACT, check_output, tag_output
from mmx_core.commands.argtypes import SEED, add_command, float_in, int_in
from mmx_core.commands.explore_io import add_backend_arg, add_embeddings_args, copy_artefact
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.workspace import load_set


def register(subparsers) -> None:
    d = SubgenreClusterer.defaults()  # the one source of the defaults (the app's widgets read it too)
    parser = add_command(subparsers, "cluster", run, help="find sub-genre clusters (HDBSCAN) with readable labels")
    add_embeddings_args(parser)
    parser.add_argument("--min-cluster-size", type=int_in(2), default=d["min_cluster_size"],
                        help="smallest group HDBSCAN calls a cluster")
    parser.add_argument("--min-samples", type=int_in(0), default=d["min_samples"] or 0,
                        help="HDBSCAN core-distance neighbourhood (0: same as --min-cluster-size)")
    parser.add_argument("--selection", choices=SubgenreClusterer.SELECTIONS, default=d["selection"],
                        help="clusters of the hierarchy that become labels: leaves, or excess of mass")
    parser.add_argument("--epsilon", type=float_in(0), default=d["epsilon"], help="cluster_selection_epsilon")
    parser.add_argument("--space", choices=SubgenreClusterer.SPACES, default=d["space"],
                        help="cluster a 10-d UMAP reduction or the unit vectors")
    parser.add_argument("--seed", type=SEED, default=d["seed"], help="seed of the reduction")
    add_backend_arg(parser)
    tag_output(parser.add_argument("--out", required=True, metavar="FILE.parquet",
                                   help="columns id, cluster, probability; labels and summaries in FILE.parquet.json"),
               ARTEFACT)


def run(args) -> int:
    from mmx_core.explore import cached_clusters

    check_output(args.out, ARTEFACT, reads=(args.embeddings, args.metadata), overwrite=True)  # before any work
    emb_set = load_set(args.embeddings, args.metadata)
    result = cached_clusters.clusters(emb_set, min_cluster_size=args.min_cluster_size, space=args.space,
                                      min_samples=args.min_samples or None, selection=args.selection,
                                      epsilon=args.epsilon, seed=args.seed, backend=args.backend)
    out = copy_artefact(result.path, args.out, extra={
        "n_clusters": result.n_clusters, "noise_share": result.noise_share,
        "labels": {str(c): label for c, label in result.labels().items()},
        "summaries": [s.to_dict() for s in result.summaries]})
    print(f"{out}: {result.n_clusters} clusters, {100 * result.noise_share:.0f}% noise")
    for s in result.summaries:
        print(f"  {s.cluster:>3}  {s.size:>5}  {s.label}")
    return ExitCode.OK
