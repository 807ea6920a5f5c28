"""A stand-in for ``python -m mmx_core train`` in app tests: writes events and status like the trainer.

Usage: ``python fake_trainer.py train --out RUN_DIR --epochs N ...`` (other flags are accepted and ignored).
Each epoch takes ``FAKE_EPOCH_SECONDS`` (default 0.5 s).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path


def write_status(out: Path, **status) -> None:
    tmp = out / ".status.json.tmp"
    tmp.write_text(json.dumps({**status, "pid": os.getpid(), "updated": time.time()}))
    os.replace(tmp, out / "status.json")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--stage", default="coarse")
    args, _ = parser.parse_known_args()
    seconds = float(os.environ.get("FAKE_EPOCH_SECONDS", "0.5"))
    print("fake trainer starting", flush=True)
    with open(args.out / "events.jsonl", "a") as events:
        for epoch in range(1, args.epochs + 1):
            time.sleep(seconds)
            loss = 1.0 / epoch
            events.write(json.dumps({"time": time.time(), "event": "epoch", "stage": args.stage, "epoch": epoch,
                                     "epochs": args.epochs, "loss": loss, "val": {"auprc_w": 0.2 + 0.05 * epoch}}) + "\n")
            events.flush()
            (args.out / "checkpoints").mkdir(exist_ok=True)
            (args.out / "checkpoints" / "last.pt").write_bytes(b"fake")  # resumable, like the real trainer's
            write_status(args.out, state="running", stage=args.stage, epoch=epoch, epochs=args.epochs,
                         progress=epoch / args.epochs, eta_s=seconds * (args.epochs - epoch), message=f"epoch {epoch}")
            print(f"epoch {epoch} loss {loss:.3f}", flush=True)
    write_status(args.out, state="finished", stage=args.stage, epoch=args.epochs, epochs=args.epochs, progress=1.0,
                 eta_s=0, message="done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
