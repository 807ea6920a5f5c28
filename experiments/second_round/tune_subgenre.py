"""Tuning: coarse then fine, sub-genre precision@10 of the bottleneck after each (all trailers)."""
import json, sys, time
import torch
from mmx_core.data import TrailerStore
from mmx_core.model import ModelConfig
from mmx_core.train import TrainConfig, train, embed_store
from mmx_core.studies.subgenre import precision_at_k

data, out, seq_enc = sys.argv[1], sys.argv[2], sys.argv[3]
ce, fe = int(sys.argv[4]), int(sys.argv[5])
fine_lr = float(sys.argv[6]) if len(sys.argv) > 6 else 5e-4
temp = float(sys.argv[7]) if len(sys.argv) > 7 else 0.5
torch.set_num_threads(1)
store = TrailerStore.open(data)
sub = store.trailers["subgenre"].to_numpy()
model = ModelConfig.for_store(store.manifest, sequence_encoder=seq_enc)
t0 = time.time()
res = {}
coarse = f"{out}/coarse"
from pathlib import Path
if not (Path(coarse) / "checkpoints/best.pt").exists():
    train(TrainConfig(stage="coarse", data=data, out=coarse, epochs=ce, batch_size=64, device="cpu", model=model, patience=3))
_, v = embed_store(store, coarse, device="cpu", batch_size=64)
res["coarse"] = precision_at_k(v, sub, 10)
fine = f"{out}/fine-lr{fine_lr}-t{temp}-e{fe}"
train(TrainConfig(stage="fine", data=data, out=fine, init=coarse, epochs=fe, batch_size=64, device="cpu", lr=fine_lr,
                  temperature=temp, patience=fe))
_, v = embed_store(store, fine, device="cpu", batch_size=64)
res["fine"] = precision_at_k(v, sub, 10)
res["minutes"] = (time.time() - t0) / 60
print(json.dumps({"data": data, "seq": seq_enc, "fine_lr": fine_lr, "temp": temp, **res}))
