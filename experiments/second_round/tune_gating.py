"""Tuning: coarse training with one fusion; test-split AU(PRC)w of the tuning set."""
import json, sys, time
from pathlib import Path
import torch
from mmx_core.data import TrailerStore
from mmx_core.model import ModelConfig
from mmx_core.train import TrainConfig, train, predict_scores
from mmx_core.base.metrics import genre_metrics

data, out, fusion, epochs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
small = len(sys.argv) > 5 and sys.argv[5] == "small"
torch.set_num_threads(1)
store = TrailerStore.open(data)
extra = json.load(open("runs/eval-small-model.json")) if small else {}
model = ModelConfig.for_store(store.manifest, fusion=fusion, **extra)
t0 = time.time()
if not (Path(out) / "checkpoints/best.pt").exists():
    train(TrainConfig(stage="coarse", data=data, out=out, epochs=epochs, batch_size=32 if small else 64,
                      device="cpu", model=model, patience=5))
s, y = predict_scores(store, out, "test", device="cpu", batch_size=64)
r = genre_metrics(s, y)
print("RESULT", json.dumps({"data": data, "fusion": fusion, "small": small, "auprc_w": r.auprc_weighted,
                            "minutes": (time.time() - t0) / 60}))
