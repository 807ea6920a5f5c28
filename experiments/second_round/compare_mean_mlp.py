"""Paired bootstrap over trailers: precision@10 of mlp+mean minus mlp (paper), same held-out set."""
import json
import numpy as np
from mmx_core.data import TrailerStore
from mmx_core.base.metrics import paired_bootstrap
from mmx_core.studies.subgenre import precision_at_k_per_trailer

store = TrailerStore.open("data/eval-heldout-2000-s4242")
ids = store.trailers["id"].to_numpy().astype(str)
sub = store.trailers["subgenre"].to_numpy()
out = {}
for emb in ("coarse", "fine"):
    per = {}
    for run in ("mean", "mlp"):
        z = np.load(f"runs/eval-subgenre-2000-s4242-{run}/embeddings/{emb}.npz", allow_pickle=False)
        keys = list(z.keys())
        vec = z["embeddings"]
        zid = z["ids"].astype(str)
        assert (zid == ids).all(), keys
        per[run] = precision_at_k_per_trailer(vec, sub, 10)
    d = paired_bootstrap(lambda v, _l: float(np.mean(v)), per["mean"], per["mlp"], sub)
    out[emb] = {"mean": float(per["mean"].mean()), "mlp": float(per["mlp"].mean()), **d}
print(json.dumps(out, indent=1))
