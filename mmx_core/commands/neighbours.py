"""``neighbours``: the nearest trailers to one trailer by cosine similarity."""

from __future__ import annotations

from mmx_core.base.console import print_json
from mmx_core.commands.argtypes import add_command, int_in
from mmx_core.commands.explore_io import add_embeddings_args
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.workspace import load_set


def register(subparsers) -> None:
    parser = add_command(subparsers, "neighbours", run, help="nearest trailers to a trailer (cosine)")
    add_embeddings_args(parser)
    parser.add_argument("--id", required=True, help="trailer id")
    parser.add_argument("-k", type=int_in(1), default=10, help="number of neighbours")
    parser.add_argument("--backend", choices=NeighbourIndex.BACKENDS, default=NeighbourIndex.defaults()["backend"],
                        help=f"faiss index; auto: exact search up to {NeighbourIndex.defaults()['exact_max']:,} trailers, "
                             "HNSW, IVF or IVF-PQ above by dimension and memory (docs/scale.md)")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of {id, score, shared_genres}, nearest first")


def run(args) -> int:
    from mmx_core.explore import cached_neighbours

    emb_set = load_set(args.embeddings, args.metadata)
    table = cached_neighbours.neighbours(emb_set, args.id, k=args.k, backend=args.backend)
    if args.json:
        print_json([{"id": r.id, "score": round(float(r.score), 6), "shared_genres": list(r.shared_genres)}
                    for r in table.itertuples()])
        return 0
    for rank, r in enumerate(table.itertuples(), start=1):
        print(f"{rank:>3}  {r.score:.4f}  {r.id}  {', '.join(r.shared_genres)}")
    return 0
