"""``compare``: how a second embedding of the same trailers regroups them (e.g. coarse vs fine)."""

from __future__ import annotations

import json

from mmx_core.commands._explore_io import load_set

SUMMARY_KEYS = ("n", "k", "jaccard_mean", "jaccard_median", "n_clusters_a", "n_clusters_b", "ari")


def register(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="compare two embeddings of the same trailers")
    parser.add_argument("--a", required=True, metavar="FILE", help="first embeddings .npz (e.g. coarse)")
    parser.add_argument("--b", required=True, metavar="FILE", help="second embeddings .npz (e.g. fine)")
    parser.add_argument("--metadata", default=None, metavar="FILE", help="trailer table for both files")
    parser.add_argument("-k", type=int, default=10, help="neighbourhood size of the Jaccard overlap")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--out", default=None, metavar="FILE.parquet",
                        help="write the per-trailer table (id, jaccard, cluster_a, cluster_b)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from mmx_core.base.artefacts import atomic_path
    from mmx_core.explore import pipeline

    a, b = load_set(args.a, args.metadata), load_set(args.b, args.metadata)
    result = pipeline.comparison(a, b, k=args.k)
    summary = {key: result.summary[key] for key in SUMMARY_KEYS}
    if args.out:
        with atomic_path(args.out) as tmp:
            result.table.to_parquet(tmp, index=False)
    if args.json:
        print(json.dumps(summary))
    else:
        for key in SUMMARY_KEYS:
            value = summary[key]
            print(f"{key:>15}: {value:.4f}" if isinstance(value, float) else f"{key:>15}: {value}")
        print(f"{'procrustes_err':>15}: {result.summary.get('procrustes_error', float('nan')):.4f}")
    only_a, only_b = result.summary["only_in_a"], result.summary["only_in_b"]
    if only_a or only_b:
        import sys

        print(f"left out: {len(only_a)} ids only in {args.a}, {len(only_b)} only in {args.b} "
              f"(e.g. {(only_a or only_b)[:3]})", file=sys.stderr)
    return 0
