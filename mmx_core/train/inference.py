"""Inference over a store with a trained checkpoint: embeddings and genre scores."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from mmx_core.base.devices import DEFAULT_PRECISION, autocast_for, resolve_device, resolve_precision
from mmx_core.data import BatchBuffers, TrailerStore
from mmx_core.data.gather import one_thread
from mmx_core.base.errors import MMXError
from mmx_core.base.progress import progress
from mmx_core.train.checkpoint import Checkpoint, check_compatible, load_checkpoint
from mmx_core.train.sampling import TrailerSequences

__all__ = ["embed_store", "predict_scores", "inference_batches", "forward_rows", "to_device", "read_dtype",
           "write_embeddings"]


def _open(store: TrailerStore | str | Path, checkpoint: Checkpoint | str | Path) -> tuple[TrailerStore, Checkpoint]:
    return (store if isinstance(store, TrailerStore) else TrailerStore.open(store),
            checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint))


def inference_batches(store: TrailerStore, indices: np.ndarray, batch_size: int, device: torch.device,
                      description: str = "", buffers: BatchBuffers | None = None) -> Iterator[dict]:
    """Batches of trailers with all their sequences (mode "all"), moved to ``device``.

    With ``buffers``, every batch reuses their memory (no page faults of fresh memory): a batch
    is then only valid until the next one is drawn.
    """
    dataset = TrailerSequences(store, indices, mode="all")
    dtype = read_dtype(store, device)
    starts = range(0, len(dataset), batch_size)
    for start in progress(starts, description, total=len(starts), disable=not description):
        positions = range(start, min(start + batch_size, len(dataset)))
        yield to_device(dataset.batch(positions, dtype=dtype, buffers=buffers), device)


def read_dtype(store: TrailerStore, device: torch.device) -> torch.dtype:
    """Dtype to read features in for ``device``: float32 on the CPU (the model's dtype, no cast), else
    the store's own (half the bytes to move when it is float16; :func:`to_device` casts on the device)."""
    return torch.float16 if device.type != "cpu" and store.manifest.dtype == "float16" else torch.float32


def to_device(value, device: torch.device, buffers: BatchBuffers | None = None):
    """Move the tensors of a nested dict to ``device``, casting float16 to float32 there.

    The device is chosen once, by the caller. Features read as float16 (half the bytes to
    move) reach the model as float32; the cast is exact. With ``buffers`` and a CPU device the
    casts land in their reused memory (no page faults of fresh memory): the result is then only
    valid until the next call with the same buffers.
    """
    def move(item, key: str):
        if isinstance(item, dict):
            return {name: move(part, f"{key}/{name}") for name, part in item.items()}
        if not isinstance(item, torch.Tensor):
            return item
        item = item.to(device, non_blocking=True)
        if item.dtype != torch.float16:
            return item
        if buffers is None or item.device.type != "cpu":
            return item.float()
        with one_thread():  # a memory-bound copy (see gather_frames)
            return buffers.take(f"float32{key}", tuple(item.shape), torch.float32).copy_(item)

    return move(value, "")


@torch.no_grad()
def forward_rows(model: torch.nn.Module, store: TrailerStore, indices: np.ndarray, head: str, batch_size: int,
                 device: torch.device, dtype: torch.dtype | None = None, buffers: BatchBuffers | None = None,
                 description: str = "") -> torch.Tensor:
    """The ``head`` outputs (float32, on the CPU) of ``model`` in eval mode for trailers ``indices`` with all their
    sequences, the forward passes under autocast to ``dtype`` (None: float32); shape (0, 0) for no trailer."""
    model.eval()
    outputs = []
    for batch in inference_batches(store, indices, batch_size, device, description, buffers=buffers):
        with autocast_for(device, dtype):
            outputs.append(model(batch["batch"], head=head).float().cpu())
    return torch.cat(outputs) if outputs else torch.zeros(0, 0)


def embed_store(store: TrailerStore | str | Path, checkpoint: Checkpoint | str | Path, device: str = "auto",
                batch_size: int = 16, indices: np.ndarray | None = None,
                precision: str = DEFAULT_PRECISION) -> tuple[np.ndarray, np.ndarray]:
    """Bottleneck embeddings of every trailer (all of its sequences).

    ``precision`` is the forward passes' autocast (:func:`~mmx_core.base.devices.resolve_precision`;
    ``"fp32"``: float32 bit for bit); the vectors are float32 whatever it is.

    Returns
    -------
    ids : ndarray of shape (n,)
    vectors : ndarray of shape (n, bottleneck_dim), float32
    """
    store, checkpoint = _open(store, checkpoint)
    check_compatible(checkpoint.config, checkpoint.genres, checkpoint.data_fingerprint, store, checkpoint.path,
                     need_genres=False)
    rows = np.arange(store.n_trailers) if indices is None else np.asarray(indices)
    device_ = resolve_device(device)
    vectors = forward_rows(checkpoint.model.to(device_), store, rows, "embed", batch_size, device_,
                           resolve_precision(precision, device_).dtype, BatchBuffers(), "embed").numpy()
    checkpoint.model.cpu()
    return store.trailers["id"].to_numpy().astype(str)[rows], vectors.astype(np.float32)


def predict_scores(store: TrailerStore | str | Path, checkpoint: Checkpoint | str | Path, split: str = "test",
                   device: str = "auto", batch_size: int = 16,
                   precision: str = DEFAULT_PRECISION) -> tuple[np.ndarray, np.ndarray]:
    """Genre probabilities (sigmoid of the coarse head) and labels of the trailers of ``split``.

    ``precision`` as in :func:`embed_store`; the sigmoid is taken in float64.

    Returns
    -------
    scores, labels : ndarray of shape (n, n_genres), float32
        Columns in the order of ``store.manifest.genres`` (= the checkpoint's genres).
    """
    store, checkpoint = _open(store, checkpoint)
    check_compatible(checkpoint.config, checkpoint.genres, checkpoint.data_fingerprint, store, checkpoint.path)
    rows = store.split_indices(split)
    if len(rows) == 0:
        raise MMXError(f"the data set has no trailers in split {split!r}", store.path)
    device_ = resolve_device(device)
    logits = forward_rows(checkpoint.model.to(device_), store, rows, "coarse", batch_size, device_,
                          resolve_precision(precision, device_).dtype, BatchBuffers(), f"predict {split}").numpy()
    checkpoint.model.cpu()
    scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    return scores.astype(np.float32), store.labels()[rows]


def write_embeddings(path: str | Path, ids: np.ndarray, vectors: np.ndarray, store: TrailerStore,
                     checkpoint: Checkpoint, precision: dict | None = None) -> Path:
    """Save embeddings (``generated`` from the data manifest) with ``<path>.json`` describing how.

    ``precision``: :meth:`ResolvedPrecision.record <mmx_core.base.devices.ResolvedPrecision.record>` of the
    run, written in the parameters (``params.precision``).
    """
    from mmx_core.base.artefacts import write_params_json
    from mmx_core.trailers.embeddings import save_embeddings

    untrained = bool((store.manifest.extraction or {}).get("untrained"))
    source = (f"{checkpoint.stage} encoder {checkpoint.path} (epoch {checkpoint.epoch}) on data set {store.path}"
              + (" (generated features)" if store.manifest.generated else "")
              + (" (features from untrained backbones)" if untrained else "")
              + (f" in {precision['precision']}" if precision else ""))
    save_embeddings(path, ids, vectors, generated=bool(store.manifest.generated), source=source, untrained=untrained)
    write_params_json(path, "embed", {"stage": checkpoint.stage, "epoch": checkpoint.epoch,
                                      "config": checkpoint.config.to_dict(),
                                      **({"precision": dict(precision)} if precision else {})},
                      {"data": store.fingerprint, "checkpoint": checkpoint.data_fingerprint})
    return Path(path)
