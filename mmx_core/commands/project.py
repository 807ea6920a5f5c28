"""``project``: a 2-D (or n-D) map of an embeddings file (UMAP, t-SNE or PCA), cached."""

from __future__ import annotations

from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import ARTEFACT, check_output, tag_output
from mmx_core.commands.argtypes import SEED, add_command, float_in, int_in
from mmx_core.commands.explore_io import add_backend_arg, add_embeddings_args, copy_artefact
from mmx_core.explore.projection import Projector
from mmx_core.workspace import load_set


def register(subparsers) -> None:
    d = Projector.defaults()  # the one source of the defaults (the app's widgets read it too)
    parser = add_command(subparsers, "project", run, help="map embeddings to 2-D with UMAP, t-SNE or PCA")
    add_embeddings_args(parser)
    parser.add_argument("--method", choices=Projector.METHODS, default=d["method"], help="projection algorithm")
    parser.add_argument("--dims", type=int_in(1), default=d["n_components"], help="output dimensions")
    parser.add_argument("--seed", type=SEED, default=d["seed"], help="random seed (same seed, same map)")
    parser.add_argument("--n-neighbors", type=int_in(2), default=d["n_neighbors"], help="UMAP neighbourhood size")
    parser.add_argument("--min-dist", type=float_in(0), default=d["min_dist"], help="UMAP minimum distance")
    parser.add_argument("--perplexity", type=float_in(0, low_open=True), default=d["perplexity"], help="t-SNE perplexity")
    parser.add_argument("--pca-dims", type=int_in(0), default=d["pca_dims"], help="PCA pre-reduction (0: none)")
    add_backend_arg(parser)
    tag_output(parser.add_argument("--out", required=True, metavar="FILE.parquet", help="columns id, x, y"), ARTEFACT)


def run(args) -> int:
    from mmx_core.explore.cached_map import projection_path

    check_output(args.out, ARTEFACT, reads=(args.embeddings, args.metadata), overwrite=True)  # before any work
    emb_set = load_set(args.embeddings, args.metadata)
    path = projection_path(emb_set, method=args.method, n_components=args.dims, seed=args.seed,
                           n_neighbors=args.n_neighbors, min_dist=args.min_dist,
                           perplexity=args.perplexity, pca_dims=args.pca_dims or None,
                           backend=args.backend)
    out = copy_artefact(path, args.out)
    print(f"{out} ({len(emb_set)} trailers, {args.method}, {args.dims}-D)")
    return ExitCode.OK
