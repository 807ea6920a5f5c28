"""Sub-genre precision@10 of the coarse bottleneck, then of the fine bottleneck after every fine epoch.

Used for the style-strength and fine-stage-length tables in docs/data-format.md and docs/model.md:

    python -m experiments.fine_stage_curve data/tune-1500-s11 runs/tune2/st15 --fine-epochs 30 --lr 1e-3

The coarse run is trained once under OUT/coarse (reused when finished); the fine stage is trained one
epoch at a time with --resume (constant learning rate, so this equals one unbroken run) and its last
checkpoint scored after each epoch, over all trailers of the planted set. One JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from mmx_core.data import TrailerStore
from mmx_core.studies.subgenre import precision_at_k
from mmx_core.model import ModelConfig
from mmx_core.train import TrainConfig, embed_store, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a planted data set (has a 'subgenre' column)")
    parser.add_argument("out", help="folder for the coarse and fine runs")
    parser.add_argument("--sequence-encoder", default="mlp+mean", choices=["mlp", "mlp+mean"])
    parser.add_argument("--coarse-epochs", type=int, default=10)
    parser.add_argument("--fine-epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=5e-4, help="learning rate of the fine stage")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    torch.set_num_threads(args.threads)

    store = TrailerStore.open(args.data)
    subgenre = store.trailers["subgenre"].to_numpy()
    model = ModelConfig.for_store(store.manifest, sequence_encoder=args.sequence_encoder)
    started = time.perf_counter()
    coarse = Path(args.out) / "coarse"
    if not (coarse / "checkpoints" / "best.pt").exists():
        train(TrainConfig(stage="coarse", data=args.data, out=coarse, epochs=args.coarse_epochs, batch_size=64,
                          device="cpu", model=model, patience=3))
    _, coarse_embedding = embed_store(store, coarse, device="cpu", batch_size=64)
    fine = Path(args.out) / f"fine-lr{args.lr}-t{args.temperature}-b{args.batch_size}"
    curve = []
    for epoch in range(1, args.fine_epochs + 1):
        train(TrainConfig(stage="fine", data=args.data, out=fine, init=coarse, epochs=epoch, batch_size=args.batch_size,
                          device="cpu", lr=args.lr, temperature=args.temperature, patience=10_000, resume=epoch > 1))
        _, fine_embedding = embed_store(store, fine / "checkpoints" / "last.pt", device="cpu", batch_size=64)
        curve.append(round(precision_at_k(fine_embedding, subgenre, 10), 4))
        print(epoch, curve[-1], flush=True)
    print(json.dumps({"data": args.data, "sequence_encoder": args.sequence_encoder, "lr": args.lr,
                      "temperature": args.temperature, "batch_size": args.batch_size,
                      "coarse": round(precision_at_k(coarse_embedding, subgenre, 10), 4), "fine_curve": curve,
                      "minutes": round((time.perf_counter() - started) / 60, 2)}))


if __name__ == "__main__":
    main()
