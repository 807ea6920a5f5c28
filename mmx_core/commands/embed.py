"""``embed``: bottleneck embeddings of every trailer of a data set, as an embeddings file."""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.artefacts import atomic_path, write_params_json
from mmx_core.base.errors import ExitCode
from mmx_core.base.outputs import ARTEFACT, EMBEDDINGS, check_output, tag_output
from mmx_core.commands.argtypes import add_command, add_data, add_device, add_precision, int_in


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "embed", run, help="write the bottleneck embeddings of every trailer (.npz embeddings file)",
        description="Embed every trailer of a data set with a trained encoder (all of its sequences) and write "
        "the project's embeddings file (embeddings, ids, generated from the data manifest, source).")
    add_data(parser)
    parser.add_argument("--model", required=True, help="checkpoint file or run folder (its best.pt)")
    tag_output(parser.add_argument("--out", required=True, help="output .npz"), EMBEDDINGS)
    add_device(parser)
    add_precision(parser)
    parser.add_argument("--batch-size", type=int_in(1), default=16)
    parser.add_argument("--with-metadata", action="store_true",
                        help="write the data set's trailer table beside the output (OUT with .parquet) with a "
                             "'dataset' column, so the embedding set shows titles, years, genres, thumbnails and, "
                             "for sets extracted from videos, the source video")


def run(args) -> int:
    check_output(args.out, EMBEDDINGS, inputs=(args.data,), reads=(args.model,), overwrite=True)  # before any work
    if args.with_metadata:
        check_output(Path(args.out).with_suffix(".parquet"), ARTEFACT, option="--with-metadata", inputs=(args.data,),
                     reads=(args.model,), overwrite=True)
    from mmx_core.base.devices import resolve_precision
    from mmx_core.data import TrailerStore
    from mmx_core.train import embed_store, load_checkpoint
    from mmx_core.train.inference import write_embeddings

    precision = resolve_precision(args.precision, args.device).record(args.precision)  # refused before any work
    store = TrailerStore.open(args.data)
    checkpoint = load_checkpoint(args.model)
    ids, vectors = embed_store(store, checkpoint, device=args.device, batch_size=args.batch_size,
                               precision=args.precision)
    path = write_embeddings(args.out, ids, vectors, store, checkpoint, precision=precision)
    if args.with_metadata:
        table = store.trailers.copy()
        table["dataset"] = str(store.path.resolve())  # where thumbnails and source videos of the set are found
        with atomic_path(path.with_suffix(".parquet")) as tmp:
            table.to_parquet(tmp, index=False)
        write_params_json(path.with_suffix(".parquet"), "embed-metadata", {"embeddings": path.name},
                          {"data": store.fingerprint})
    print(path)
    return ExitCode.OK
