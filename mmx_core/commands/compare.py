"""``compare``: how a second embedding of the same trailers regroups them (e.g. coarse vs fine).

It prints the summary of :func:`mmx_core.explore.cached_comparison.comparison`, the same result the
app's Compare page shows (same sets, ``-k``, ``--min-cluster-size`` and ``--projection``
as the page's controls give the same figures and read the same cached artefacts).
"""

from __future__ import annotations

import json
import sys

from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import ARTEFACT, check_output, tag_output
from mmx_core.commands.argtypes import add_command, int_in
from mmx_core.commands.explore_io import METADATA_HELP, SET_HELP, add_backend_arg
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.compare import SUMMARY_KEYS
from mmx_core.explore.projection import Projector
from mmx_core.workspace import load_set


def register(subparsers) -> None:
    parser = add_command(subparsers, "compare", run, help="compare two embeddings of the same trailers")
    parser.add_argument("--a", required=True, metavar="SET", help=f"first set (e.g. coarse): {SET_HELP}")
    parser.add_argument("--b", required=True, metavar="SET", help="second set (e.g. fine), same forms as --a")
    parser.add_argument("--metadata", default=None, metavar="FILE", help=f"for both sets: {METADATA_HELP}")
    parser.add_argument("-k", type=int_in(1), default=10,
                        help="neighbourhood size of the Jaccard overlap (default: %(default)s)")
    parser.add_argument("--min-cluster-size", type=int_in(2), default=SubgenreClusterer.defaults()["min_cluster_size"],
                        help="HDBSCAN minimum cluster size of both spaces (default: %(default)s)")
    parser.add_argument("--projection", choices=Projector.METHODS, default=Projector.defaults()["method"],
                        help="map of both spaces, aligned for the procrustes error (default: %(default)s)")
    add_backend_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    tag_output(parser.add_argument("--out", default=None, metavar="FILE.parquet",
                                   help="write the per-trailer table (id, jaccard, cluster_a, cluster_b) and its "
                                        "parameter record FILE.parquet.json"), ARTEFACT)


def run(args) -> int:
    if args.out is not None:  # the output contract, before any work
        check_output(args.out, ARTEFACT, reads=(args.a, args.b, args.metadata), overwrite=True)
    from mmx_core.base.artefacts import atomic_path, write_params_json
    from mmx_core.explore.cached_comparison import comparison

    a, b = load_set(args.a, args.metadata), load_set(args.b, args.metadata)
    result = comparison(a, b, k=args.k,
                        cluster_params={"min_cluster_size": args.min_cluster_size, "backend": args.backend},
                        projection_params={"method": args.projection, "backend": args.backend})
    summary = {key: result.summary[key] for key in SUMMARY_KEYS}
    if args.out:
        with atomic_path(args.out) as tmp:
            result.table.to_parquet(tmp, index=False)
        write_params_json(args.out, "compare", {"k": args.k, "min_cluster_size": args.min_cluster_size,
                                                "projection": args.projection, "backend": args.backend},
                          {"a": a.content_hash, "b": b.content_hash})
    if args.json:
        print(json.dumps(summary))
    else:
        for key in (*SUMMARY_KEYS, "procrustes_error"):
            value = result.summary.get(key, float("nan"))
            print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}")
    only_a, only_b = result.summary["only_in_a"], result.summary["only_in_b"]
    if only_a or only_b:
        print(f"left out: {len(only_a)} ids only in {args.a}, {len(only_b)} only in {args.b} "
              f"(e.g. {(only_a or only_b)[:3]})", file=sys.stderr)
    return ExitCode.OK
