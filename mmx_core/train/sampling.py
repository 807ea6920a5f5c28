"""Which sequences of a trailer a step sees: torch Datasets over a TrailerStore.

Every random choice is drawn from a generator seeded by (seed, epoch, trailer),
so an item is the same whatever the batch order, the number of DDP processes or
a resume in between.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data import TrailerStore, collate_clips

__all__ = ["TrailerSequences", "MODES", "collate_items", "sample_sequences", "split_halves"]

MODES = ("sample", "pairs", "all")


def sample_sequences(count: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct random sequences of ``count`` (all of them, shuffled, when fewer)."""
    return rng.permutation(count)[:k]


def split_halves(count: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of a trailer's sequences, each at most ``k`` long.

    A trailer with one sequence gives that sequence twice (no disjoint split exists).
    """
    order = rng.permutation(count)
    if count < 2:
        return order, order
    half = count // 2
    return order[:half][:k], order[half:][:k]


class TrailerSequences(Dataset):
    """Trailers of a store with their sequences chosen by ``mode``.

    Parameters
    ----------
    store : TrailerStore
    indices : ndarray of int
        Trailer indices of the store (e.g. ``store.split_indices("train")``).
    mode : {"sample", "pairs", "all"}
        "sample": ``n_sequences`` random distinct sequences (coarse training);
        "pairs": two disjoint random halves of at most ``n_sequences`` each
        (contrastive positives); "all": every sequence, in order (inference).
    n_sequences : int
        Sequences per sample (per half in "pairs").
    seed : int
    labels : ndarray of shape (n_trailers, n_genres), optional
        Defaults to ``store.labels()``.

    Items are dicts: "clips" (TrailerClips; "clips_b" too in "pairs"),
    "label" (ndarray of shape (n_genres,)) and "index" (int).
    """

    def __init__(self, store: TrailerStore, indices: np.ndarray, mode: str = "sample", n_sequences: int = 8,
                 seed: int = 0, labels: np.ndarray | None = None) -> None:
        assert mode in MODES, mode
        self.store, self.indices, self.mode = store, np.asarray(indices, dtype=np.int64), mode
        self.n_sequences, self.seed, self.epoch = n_sequences, seed, 0
        self.labels = store.labels() if labels is None else labels

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        t = int(self.indices[i])
        count = self.store.sequence_count(t)
        item = {"label": self.labels[t], "index": t}
        if self.mode == "all":
            item["clips"] = self.store.read(t)
            return item
        rng = np.random.default_rng([self.seed, self.epoch, t])
        if self.mode == "sample":
            item["clips"] = self.store.read(t, sample_sequences(count, self.n_sequences, rng))
        else:
            first, second = split_halves(count, self.n_sequences, rng)
            item["clips"], item["clips_b"] = self.store.read(t, first), self.store.read(t, second)
        return item


def collate_items(items: list[dict]) -> dict:
    """Batch items of :class:`TrailerSequences`: "batch" (and "batch_b"), "labels", "index"."""
    out = {
        "batch": collate_clips([item["clips"] for item in items]),
        "labels": torch.from_numpy(np.stack([item["label"] for item in items]).astype(np.float32)),
        "index": torch.tensor([item["index"] for item in items], dtype=torch.long),
    }
    if "clips_b" in items[0]:
        out["batch_b"] = collate_clips([item["clips_b"] for item in items])
    return out
