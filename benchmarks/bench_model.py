"""Model and training throughput at the real expert dims, for the shipped model configuration.

Rows: training (coarse step: forward + BCE + backward + AdamW) and embedding (forward of all
sequences) in trailers/s, end to end (reading the memory-mapped store + collate + model) and
model only (pre-collated batches); peak RSS; the model's FLOPs counted with
torch.utils.flop_counter and the achieved FLOP/s as a fraction of this machine's dense float32
matmul FLOP/s (2048 x 2048 @ 2048 x 2048), measured in the same run at the same thread count.
Each figure is the best of a few repeats (the machine's cores are shared with other jobs).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.harness import Table, best_rate, peak_rss
from mmx_core.data import TrailerStore
from mmx_core.data.synth import synthesize
from mmx_core.model import MMXModel, ModelConfig
from mmx_core.base.progress import progress_callback
from mmx_core.train.inference import inference_batches, to_device
from mmx_core.train.losses import coarse_loss
from mmx_core.studies.release import SHIPPED_MODEL
from mmx_core.train.sampling import TrailerSequences

BATCH = 64


def matmul_flops(device: torch.device, repeats: int = 5, n: int = 2048) -> float:
    """Best dense float32 matmul FLOP/s of ``repeats`` timings of 4 products."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    return best_rate(lambda: [a @ b for _ in range(4)], 4 * 2 * n ** 3, repeats, device)


def train_batches(store: TrailerStore, model: ModelConfig, n_batches: int) -> list[dict]:
    """``n_batches`` coarse training batches of BATCH trailers (``model.train_sequences`` sampled sequences each)."""
    dataset = TrailerSequences(store, range(store.n_trailers), "sample", model.train_sequences, seed=0)
    return [dataset.batch([(i * BATCH + j) % len(dataset) for j in range(BATCH)]) for i in range(n_batches)]


def _train_step(net: MMXModel, optimiser, batch: dict, amp: bool) -> None:
    with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
        loss = coarse_loss(net(batch["batch"], head="coarse"), batch["labels"])
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()


def train_rate(net: MMXModel, optimiser, batches: list[dict], device: torch.device, repeats: int) -> float:
    """Best trailers/s of coarse training steps (forward, BCE, backward, optimiser) over pre-read ``batches``."""
    amp = device.type == "cuda"

    def model_only():
        for batch in batches:
            _train_step(net, optimiser, batch, amp)

    return best_rate(model_only, sum(len(batch["index"]) for batch in batches), repeats, device)


def _measure(store: TrailerStore, config: ModelConfig, device: torch.device, threads: int, quick: bool) -> list[list]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n_batches, repeats = (2, 2) if quick else (4, 3)
    peak = matmul_flops(device)
    net = MMXModel(config).to(device)
    optimiser = torch.optim.AdamW(net.parameters(), fused=True)
    amp = device.type == "cuda"
    with peak_rss() as memory:
        batches = [to_device(b, device) for b in train_batches(store, config, n_batches)]
        _train_step(net, optimiser, batches[0], amp)  # warm-up
        with FlopCounterMode(display=False) as counter:
            _train_step(net, optimiser, batches[0], amp)
        flops_per_batch = counter.get_total_flops()

        model_rate = train_rate(net, optimiser, batches, device, repeats)

        def end_to_end():
            for batch in train_batches(store, config, n_batches):
                _train_step(net, optimiser, to_device(batch, device), amp)

        train_e2e = best_rate(end_to_end, BATCH * n_batches, max(1, repeats - 1), device)
    rows = [_rate_row(f"train (coarse step), {device.type}, {threads} thread(s)", train_e2e, model_rate,
                      flops_per_batch / BATCH, peak, memory["peak_mb"])]

    net.eval()
    n_embed = min(store.n_trailers, 2 * BATCH if quick else 4 * BATCH)
    rows_idx = torch.arange(n_embed).numpy()
    with peak_rss() as memory, torch.no_grad():
        eval_batches = list(inference_batches(store, rows_idx, BATCH, device))
        with FlopCounterMode(display=False) as counter:
            net(eval_batches[0]["batch"], head="embed")
        flops = counter.get_total_flops() / len(eval_batches[0]["index"])

        def embed(batches):
            for batch in batches:
                with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
                    net(batch["batch"], head="embed")

        embed_rate = best_rate(lambda: embed(eval_batches), n_embed, repeats, device)
        embed_e2e_rate = best_rate(lambda: embed(inference_batches(store, rows_idx, BATCH, device)), n_embed,
                                   max(1, repeats - 1), device)
    return rows + [_rate_row(f"embed (all sequences), {device.type}, {threads} thread(s)", embed_e2e_rate,
                             embed_rate, flops, peak, memory["peak_mb"])]


def _rate_row(what: str, end_to_end: float, model_only: float, flops: float, peak: float, memory_mb: float) -> list:
    """A throughput row: rates, FLOPs per trailer, achieved FLOP/s against the matmul ``peak``, peak RSS."""
    achieved = flops * model_only
    return [what, f"{end_to_end:.0f}", f"{model_only:.0f}", f"{flops / 1e9:.3f}", f"{achieved / 1e9:.1f}",
            f"{peak / 1e9:.1f}", f"{achieved / peak:.0%}", f"{memory_mb:.0f}"]


def run(quick: bool = False) -> list[Table]:
    previous_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp, progress_callback(lambda *a: None):
        data = synthesize(Path(tmp) / "data", n_trailers=256 if quick else 512, seed=0, latent="planted")
        store = TrailerStore.open(data)
        config = ModelConfig.for_store(store.manifest, **SHIPPED_MODEL)
        params = sum(p.numel() for p in MMXModel(config).parameters())
        rows = [row for threads in (1, 2) for row in _measure(store, config, torch.device("cpu"), threads, quick)]
        if torch.cuda.is_available():
            rows += _measure(store, config, torch.device("cuda"), previous_threads, quick)
    torch.set_num_threads(previous_threads)
    note = (f"Shipped configuration ({params / 1e6:.2f} M parameters: shared_dim {config.shared_dim}, "
            f"{config.train_sequences} sequences per trailer in training, batch {BATCH}) on generated trailers at the "
            "real expert dims (image/scene 2048, motion 512, audio 128 x 2-6 frames; 2-6 sequences of up to 9 clips). "
            "'end to end' reads the memory-mapped store and collates in the same process; 'model only' runs on "
            "pre-collated batches. FLOPs are counted by torch.utils.flop_counter (matmuls; forward + backward for "
            "training); the fraction compares the model-only FLOP/s with the best dense 2048^3 float32 matmul "
            "FLOP/s measured just before at the same thread count. Best of several repeats.")
    columns = ["what", "trailers/s end to end", "trailers/s model only", "GFLOP / trailer", "achieved GFLOP/s",
               "matmul GFLOP/s", "fraction of matmul", "peak RSS MB"]
    tables = [Table("Model throughput (CPU" + (" and CUDA)" if torch.cuda.is_available() else ")"), columns, rows, note)]
    torch.set_num_threads(1)
    tables.append(sampling_table(quick))
    torch.set_num_threads(previous_threads)
    return tables


# ---------------------------------------------------------------------------- sequence sampling
def _scores(net: MMXModel, store: TrailerStore, rows, mode: str, k: int, seed: int) -> tuple:
    dataset = TrailerSequences(store, rows, mode, k, seed=seed)
    outputs, embeddings = [], []
    net.eval()
    with torch.no_grad():
        for start in range(0, len(dataset), BATCH):
            batch = dataset.batch(range(start, min(start + BATCH, len(dataset))))
            trailer = net.embed(batch["batch"])
            embeddings.append(trailer)
            outputs.append(torch.sigmoid(net.coarse_head(trailer)))
    return torch.cat(outputs).numpy(), torch.cat(embeddings)


def sampling_table(quick: bool = False) -> Table:
    """Train with K sampled sequences vs all; infer with all sequences vs a K-sample (docs/model.md)."""
    from mmx_core.trailers.metrics import genre_metrics
    from mmx_core.train import TrainConfig, load_checkpoint, train

    dims = {"image": 128, "scene": 128, "motion": 32, "audio": 16}
    small = dict(shared_dim=32, sequence_dim=64, bottleneck_dim=64, gating_hidden=32, head_hidden=64,
                 projection_dim=32, vlad_clusters=8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, progress_callback(lambda *a: None):
        data = synthesize(Path(tmp) / "data", n_trailers=600 if quick else 1500, seed=11, latent="planted", dims=dims,
                          sequences=(2, 12))
        store = TrailerStore.open(data)
        val = store.split_indices("val")
        labels = store.labels()[val]
        for k in (2, 4, 100):
            config = ModelConfig.for_store(store.manifest, train_sequences=k, **small)
            start = time.perf_counter()
            run = train(TrainConfig(stage="coarse", data=data, out=Path(tmp) / f"k{k}", epochs=3 if quick else 8,
                                    batch_size=32, model=config, seed=0, patience=100))
            seconds = time.perf_counter() - start
            net = load_checkpoint(Path(run) / "checkpoints" / "last.pt").model
            all_scores, all_emb = _scores(net, store, val, "all", k, 0)
            label = "all" if k == 100 else str(k)
            cells = [f"train {label}", f"{seconds:.0f}", f"{genre_metrics(all_scores, labels).auprc_weighted:.3f}"]
            if k < 100:
                sample_a, emb_a = _scores(net, store, val, "sample", k, 1)
                _, emb_b = _scores(net, store, val, "sample", k, 2)
                stability = torch.nn.functional.cosine_similarity(emb_a, emb_b).mean().item()
                cells += [f"{genre_metrics(sample_a, labels).auprc_weighted:.3f}", f"{stability:.3f}"]
            else:
                cells += ["-", "-"]
            rows.append(cells)
    note = ("Coarse training on a planted set (1,500 trailers with 2-12 sequences, small dims and model, 8 epochs, "
            "seed 0) with K random sequences per trailer per step (K = 2, 4, or every sequence). Validation "
            "AU(PRC)w with inference over all sequences (what the library does) and over one random K-sample "
            "(the alternative); stability = mean cosine similarity between the embeddings of two different "
            "K-samples of the same trailer (all-sequence inference is deterministic: 1.0).")
    return Table("Sequences per trailer: training sample size and inference", [
        "training", "train time s", "val AU(PRC)w, infer all", "val AU(PRC)w, infer K-sample",
        "embedding stability, K-sample"], rows, note)
