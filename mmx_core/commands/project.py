"""``project``: a 2-D (or n-D) map of an embeddings file (UMAP, t-SNE or PCA), cached."""

from __future__ import annotations

from mmx_core.commands._explore_io import add_embeddings_args, copy_artefact, load_set


def register(subparsers) -> None:
    parser = subparsers.add_parser("project", help="map embeddings to 2-D with UMAP, t-SNE or PCA")
    add_embeddings_args(parser)
    parser.add_argument("--method", choices=["umap", "tsne", "pca"], default="umap")
    parser.add_argument("--dims", type=int, default=2, help="output dimensions (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-neighbors", type=int, default=15, help="UMAP neighbourhood size")
    parser.add_argument("--min-dist", type=float, default=0.1, help="UMAP minimum distance")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    parser.add_argument("--pca-dims", type=int, default=50, help="PCA pre-reduction (0: none)")
    parser.add_argument("--out", required=True, metavar="FILE.parquet", help="columns id, x, y")
    parser.set_defaults(func=run)


def run(args) -> int:
    from mmx_core.explore import pipeline

    emb_set = load_set(args.embeddings, args.metadata)
    path = pipeline.projection_path(emb_set, method=args.method, n_components=args.dims, seed=args.seed,
                                    n_neighbors=args.n_neighbors, min_dist=args.min_dist,
                                    perplexity=args.perplexity, pca_dims=args.pca_dims or None)
    out = copy_artefact(path, args.out)
    print(f"{out} ({len(emb_set)} trailers, {args.method}, {args.dims}-D)")
    return 0
