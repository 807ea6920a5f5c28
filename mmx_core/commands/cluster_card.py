"""``cluster-card``: one sub-genre's card (typical members, persistence, stability, distinguishing terms), or the
minimum-cluster-size sweep with its cliff warning: what the Explore page shows, printed."""

from __future__ import annotations

from mmx_core.base.console import print_block, print_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.commands.argtypes import add_command, int_in
from mmx_core.commands.explore_io import add_embeddings_args
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.workspace import load_set


def register(subparsers) -> None:
    d = SubgenreClusterer.defaults()
    parser = add_command(subparsers, "cluster-card", run, help="a sub-genre's card (typical members, stability, "
                         "terms) or the minimum cluster size sweep, as the Explore page shows them")
    add_embeddings_args(parser)
    parser.add_argument("--mcs", type=int_in(2), default=d["min_cluster_size"],
                        help="minimum cluster size of the map (the Explore page's slider)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cluster", type=int_in(0), default=None, help="the cluster whose card to print")
    what.add_argument("--sweep", action="store_true",
                      help="print clusters and noise at every size the slider offers, and whether --mcs sits on "
                           "a cliff (computed once per set, then read from the cache)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args) -> int:
    from mmx_core.appkit import cardview

    emb = load_set(args.embeddings, args.metadata)
    if args.sweep:
        table = cardview.sweep(emb)
        warning = cardview.sweep_warning(table, args.mcs)
        if args.json:
            print_json({"mcs": args.mcs, "warning": warning, "sweep": table.to_dict("records")})
            return ExitCode.OK
        print_block(table.to_string(index=False))
        print(warning or f"minimum cluster size {args.mcs}: not on a cliff")
        return ExitCode.OK
    if len(emb) <= args.mcs:
        raise MMXError(f"{len(emb)} trailers are too few for clusters of at least --mcs {args.mcs}; lower --mcs")
    card = cardview.card(emb, args.cluster, args.mcs)
    if args.json:
        print_json(card.to_dict())
        return ExitCode.OK
    for line in card.text_lines():
        print(line)
    return ExitCode.OK
