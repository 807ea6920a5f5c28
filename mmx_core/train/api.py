"""Inference over a store with a trained checkpoint: embeddings and genre scores."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..data import TrailerStore
from ..errors import MMXError
from ..progress import progress
from .checkpoint import Checkpoint, check_compatible, load_checkpoint
from .distributed import DistInfo, resolve_device
from .sampling import TrailerSequences, collate_items

__all__ = ["embed_store", "predict_scores", "inference_batches", "as_checkpoint", "as_store", "write_embeddings"]


def as_checkpoint(checkpoint: Checkpoint | str | Path) -> Checkpoint:
    return checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)


def as_store(store: TrailerStore | str | Path) -> TrailerStore:
    return store if isinstance(store, TrailerStore) else TrailerStore.open(store)


def inference_batches(store: TrailerStore, indices: np.ndarray, batch_size: int, device: torch.device,
                      description: str = "") -> Iterator[dict]:
    """Batches of trailers with all their sequences (mode "all"), moved to ``device``."""
    dataset = TrailerSequences(store, indices, mode="all")
    starts = range(0, len(dataset), batch_size)
    for start in progress(starts, description, total=len(starts), disable=not description):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        yield to_device(collate_items(items), device)


def to_device(value, device: torch.device):
    """Move the tensors of a nested dict to ``device`` (the device is chosen once, by the caller)."""
    if isinstance(value, dict):
        return {key: to_device(item, device) for key, item in value.items()}
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    return value


@torch.no_grad()
def _run(model, store, indices, head: str, device: torch.device, batch_size: int, description: str) -> np.ndarray:
    model.eval()
    outputs = []
    autocast = torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda")
    for batch in inference_batches(store, indices, batch_size, device, description):
        with autocast:
            out = model(batch["batch"], head=head)
        outputs.append(out.float().cpu())
    if not outputs:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(outputs).numpy()


def embed_store(store: TrailerStore | str | Path, checkpoint: Checkpoint | str | Path, device: str = "auto",
                batch_size: int = 16, indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bottleneck embeddings of every trailer (all of its sequences).

    Returns
    -------
    ids : ndarray of shape (n,)
    vectors : ndarray of shape (n, bottleneck_dim), float32
    """
    store, checkpoint = as_store(store), as_checkpoint(checkpoint)
    check_compatible(checkpoint.config, checkpoint.genres, checkpoint.data_fingerprint, store, checkpoint.path,
                     need_genres=False)
    device_ = resolve_device(device, DistInfo())
    rows = np.arange(store.n_trailers) if indices is None else np.asarray(indices)
    vectors = _run(checkpoint.model.to(device_), store, rows, "embed", device_, batch_size, "embed")
    checkpoint.model.cpu()
    return store.trailers["id"].to_numpy().astype(str)[rows], vectors.astype(np.float32)


def predict_scores(store: TrailerStore | str | Path, checkpoint: Checkpoint | str | Path, split: str = "test",
                   device: str = "auto", batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Genre probabilities (sigmoid of the coarse head) and labels of the trailers of ``split``.

    Returns
    -------
    scores, labels : ndarray of shape (n, n_genres), float32
        Columns in the order of ``store.manifest.genres`` (= the checkpoint's genres).
    """
    store, checkpoint = as_store(store), as_checkpoint(checkpoint)
    check_compatible(checkpoint.config, checkpoint.genres, checkpoint.data_fingerprint, store, checkpoint.path)
    rows = store.split_indices(split)
    if len(rows) == 0:
        raise MMXError(f"the data set has no trailers in split {split!r}", store.path)
    device_ = resolve_device(device, DistInfo())
    logits = _run(checkpoint.model.to(device_), store, rows, "coarse", device_, batch_size, f"predict {split}")
    checkpoint.model.cpu()
    scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return scores.astype(np.float32), store.labels()[rows]


def write_embeddings(path: str | Path, ids: np.ndarray, vectors: np.ndarray, store: TrailerStore,
                     checkpoint: Checkpoint) -> Path:
    """Save embeddings (``generated`` from the data manifest) with ``<path>.json`` describing how."""
    from ..artefacts import write_params_json
    from ..embeddings import save_embeddings

    source = (f"{checkpoint.stage} encoder {checkpoint.path} (epoch {checkpoint.epoch}) on data set {store.path}"
              + (" (generated features)" if store.manifest.generated else ""))
    save_embeddings(path, ids, vectors, generated=bool(store.manifest.generated), source=source)
    write_params_json(path, "embed", {"stage": checkpoint.stage, "epoch": checkpoint.epoch,
                                      "config": checkpoint.config.to_dict()},
                      {"data": store.fingerprint, "checkpoint": checkpoint.data_fingerprint})
    return Path(path)
