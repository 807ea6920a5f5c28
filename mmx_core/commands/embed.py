"""``embed``: bottleneck embeddings of every trailer of a data set, as an embeddings file."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "embed", help="write the bottleneck embeddings of every trailer (.npz embeddings file)",
        description="Embed every trailer of a data set with a trained encoder (all of its sequences) and write "
        "the project's embeddings file (embeddings, ids, generated from the data manifest, source).")
    parser.add_argument("--data", required=True, help="trailer data set folder")
    parser.add_argument("--model", required=True, help="checkpoint file or run folder (its best.pt)")
    parser.add_argument("--out", required=True, help="output .npz")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.set_defaults(func=run)


def run(args) -> int:
    from mmx_core.data import TrailerStore
    from mmx_core.train import embed_store, load_checkpoint
    from mmx_core.train.inference import write_embeddings

    store = TrailerStore.open(args.data)
    checkpoint = load_checkpoint(args.model)
    ids, vectors = embed_store(store, checkpoint, device=args.device, batch_size=args.batch_size)
    path = write_embeddings(args.out, ids, vectors, store, checkpoint)
    print(path)
    return 0
