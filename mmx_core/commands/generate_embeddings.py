"""``generate-embeddings``: N vectors around the published embeddings, for large-collection tests."""

from __future__ import annotations

import json
from pathlib import Path

from mmx_core.base.artefacts import atomic_path, write_params_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.outputs import ARTEFACT, EMBEDDINGS, UPLOAD, check_output, tag_output
from mmx_core.commands.argtypes import SEED, add_command, float_in, int_in


def register(subparsers) -> None:
    parser = add_command(subparsers, "generate-embeddings", run,
                         help="generate N embeddings around the published ones (large-collection tests)")
    parser.add_argument("--n", type=int_in(1), required=True, help="number of trailers")
    parser.add_argument("--dim", type=int_in(2), default=1024, help="dimensions (1024: the published space)")
    where = parser.add_mutually_exclusive_group(required=True)
    tag_output(where.add_argument("--out", help="embeddings file to write (.npz)"), EMBEDDINGS)
    tag_output(where.add_argument("--name", help="keep it as the app's embedding set upload:NAME (with its trailer "
                                                 "table)"), UPLOAD)
    parser.add_argument("--seed", type=SEED, default=0, help="same seed gives the same vectors")
    parser.add_argument("--noise", type=float_in(0.0), default=0.5,
                        help="noise as a multiple of the published set's per-dimension standard deviation")
    parser.add_argument("--float16", action="store_true", help="store float16 (half the file and memory)")
    tag_output(parser.add_argument("--metadata-out", default=None,
                                   help="also write a trailer table (.parquet) with genres and years borrowed from "
                                        "the published rows (and its parameter record FILE.parquet.json)"), ARTEFACT)


def run(args) -> int:
    from mmx_core.trailers.published import load_published
    from mmx_core.trailers.embeddings import save_embeddings
    from mmx_core.explore.generate import generate_set

    if args.out is not None and args.out.strip() and Path(args.out).suffix != ".npz":
        raise MMXError(f"--out {args.out!r} must end in .npz (an embeddings file)")
    if args.name is not None and args.metadata_out:
        raise MMXError("--metadata-out goes with --out; a set kept with --name keeps its trailer table itself")
    if args.name is not None:  # the output contract, before any work
        from mmx_core.appkit.uploads import check_set_name

        check_set_name(args.name)
    else:
        check_output(args.out, EMBEDDINGS, overwrite=True)
    if args.metadata_out is not None:
        check_output(args.metadata_out, ARTEFACT, option="--metadata-out", reads=(args.out,), overwrite=True)
    stored = "float16" if args.float16 else "float32"
    emb = generate_set(load_published(), args.n, args.dim, seed=args.seed, noise=args.noise, dtype=stored)
    source = f"generate-embeddings --n {args.n} --dim {args.dim} --seed {args.seed} --noise {args.noise:g}"
    if args.name is not None:
        from mmx_core.appkit.uploads import keep_generated

        info = keep_generated(args.name, emb, source, dtype=stored)
        print(json.dumps({"set": info.name, "path": str(info.path), "n": len(emb), "dim": emb.dim}))
        return ExitCode.OK
    out = Path(args.out)
    save_embeddings(out, emb.ids, emb.vectors, generated=True, source=source, dtype=stored)
    if args.metadata_out:
        with atomic_path(args.metadata_out) as tmp:
            emb.metadata.to_parquet(tmp, index=False)
        write_params_json(args.metadata_out, "generate-embeddings-metadata", {"embeddings": out.name, "n": args.n},
                          {})
    print(json.dumps({"out": str(out), "n": len(emb), "dim": emb.dim, "metadata": args.metadata_out}))
    return ExitCode.OK
