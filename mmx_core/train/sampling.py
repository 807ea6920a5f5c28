"""Which sequences of a trailer a step sees: torch Datasets over a TrailerStore.

Every random choice is drawn from a generator seeded by (seed, epoch, trailer),
so an item is the same whatever the batch order, the number of DDP processes or
a resume in between. :meth:`TrailerSequences.batch` reads a whole batch in one
copy.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mmx_core.base.errors import MMXError
from mmx_core.data import BatchBuffers, TrailerStore, read_batch

__all__ = ["TrailerSequences", "MODES", "sample_sequences", "epoch_batches", "split_halves", "tag_batches", "TAG_SHARE",
           "TAG_GROUP"]

MODES = ("sample", "pairs", "all")
TAG_SHARE = 0.75
"""Share of each batch that :func:`tag_batches` fills with tagged trailers sharing a tag (``--tags`` runs only).
Three quarters beat a quarter on the planted tuning sets (see :data:`mmx_core.train.config.DEFAULT_TAG_PROTOTYPE_WEIGHT`):
the few tagged trailers are seen several times an epoch, an untagged one in about one epoch of four."""
TAG_GROUP = 4
"""Trailers of one tag :func:`tag_batches` puts together in a batch (fewer when the tag has fewer)."""


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

    Items are dicts: "clips" (TrailerClips; "clips_b" too in "pairs"),
    "label" (ndarray of shape (n_genres,)) and "index" (int).
    """

    def __init__(self, store: TrailerStore, indices: np.ndarray, mode: str = "sample", n_sequences: int = 8,
                 seed: int = 0) -> None:
        assert mode in MODES, mode
        self.store, self.indices, self.mode = store, np.asarray(indices, dtype=np.int64), mode
        self.n_sequences, self.seed, self.epoch = n_sequences, seed, 0
        self.labels = store.labels()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def choose(self, i: int) -> tuple[int, list[np.ndarray | None]]:
        """Trailer index of item ``i`` and its chosen sequences: [sample], [half A, half B] or [None] (all)."""
        t = int(self.indices[i])
        if self.mode == "all":
            return t, [None]
        count = self.store.sequence_count(t)
        rng = np.random.default_rng([self.seed, self.epoch, t])
        if self.mode == "sample":
            return t, [sample_sequences(count, self.n_sequences, rng)]
        return t, list(split_halves(count, self.n_sequences, rng))

    def __getitem__(self, i: int) -> dict:
        t, chosen = self.choose(i)
        item = {"label": self.labels[t], "index": t, "clips": self.store.read(t, chosen[0])}
        if self.mode == "pairs":
            item["clips_b"] = self.store.read(t, chosen[1])
        return item

    def batch(self, positions: Sequence[int], *, join_pairs: bool = False, dtype: torch.dtype = torch.float32,
              buffers: BatchBuffers | None = None) -> dict:
        """Items ``positions`` as one batch, read straight from the store (see :func:`read_batch`).

        Equal to the items ``[self[i] for i in positions]`` collated by :func:`mmx_core.data.collate_clips`
        (features cast to float32), without per-trailer arrays.

        Parameters
        ----------
        positions : sequence of int
            Items of this dataset (not trailer indices).
        join_pairs : bool
            "pairs" mode: one "batch" of 2B rows, halves A (rows 0..B-1) then halves B, with
            "labels" and "index" repeated, instead of "batch" and "batch_b".
        dtype : {torch.float32, torch.float16}
            Dtype of the features.
        buffers : BatchBuffers, optional
            Memory reused for the features: the batch is overwritten by the next one read
            into the same buffers. Labels and index are always fresh.

        Returns
        -------
        dict
            "batch" (and "batch_b"): dicts as :func:`mmx_core.data.collate_clips`;
            "labels": float32 Tensor (B, n_genres); "index": int64 Tensor (B,).
        """
        choices = [self.choose(int(i)) for i in positions]
        trailers = np.array([t for t, _ in choices], dtype=np.int64)
        halves = [[chosen[h] for _, chosen in choices] for h in range(2 if self.mode == "pairs" else 1)]
        if join_pairs and self.mode == "pairs":
            trailers, halves = np.concatenate([trailers, trailers]), [halves[0] + halves[1]]
        out = {"batch": read_batch(self.store, trailers, halves[0], dtype=dtype, buffers=buffers),
               "labels": torch.from_numpy(self.labels[trailers].astype(np.float32, copy=False)),
               "index": torch.from_numpy(trailers)}
        if len(halves) > 1:
            out["batch_b"] = read_batch(self.store, trailers, halves[1], dtype=dtype,
                                        buffers=None if buffers is None else buffers.part("b"))
        return out


def epoch_batches(n: int, batch_size: int, world_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled full batches of positions ``0..n-1`` (the last partial batch is dropped).

    The batch size is cut to ``n`` when the split is smaller, and rounded down to
    a multiple of ``world_size`` so each DDP process gets an equal slice.
    """
    size = min(batch_size, n) // world_size * world_size
    if size < world_size:
        raise MMXError(f"{n} training trailers cannot fill a batch for {world_size} processes; use more data")
    order = np.random.default_rng([seed, epoch, 7]).permutation(n)
    return [order[i:i + size] for i in range(0, n - size + 1, size)]


def tag_batches(batches: list[np.ndarray], groups: list[np.ndarray], seed: int, epoch: int) -> list[np.ndarray]:
    """The batches of :func:`epoch_batches` with a share of each filled by trailers that share a tag.

    With a few trailers tagged, random batches rarely hold two trailers sharing a tag, so the supervised
    contrastive term would rarely have a positive. Each batch here takes up to :data:`TAG_SHARE` of its size in
    positions from a few randomly chosen tags (:data:`TAG_GROUP` trailers of each), then the batch's own positions
    (those not already taken) up to its size: sizes stay equal and no trailer appears twice in a batch. Tagged
    trailers are thus seen more often than once an epoch, and the untagged ones they displace wait for a later
    epoch. The choices come from their own generator seeded by (seed, epoch), so the batches are the
    same on resume; only runs given tags call this (a run without tags draws exactly what it always drew).

    Parameters
    ----------
    batches : list of ndarray of int
        Positions of the training set, as :func:`epoch_batches` gives them.
    groups : list of ndarray of int
        For each tag, the positions of the trailers carrying it (tags carried by fewer than two are ignored).
    seed, epoch : int

    Returns
    -------
    list of ndarray of int, as ``batches``.
    """
    groups = [np.asarray(g, dtype=np.int64) for g in groups if len(g) >= 2]
    if not groups or not batches:
        return batches
    rng = np.random.default_rng([seed, epoch, 17])
    out = []
    for batch in batches:
        size = len(batch)
        slots = max(2, int(TAG_SHARE * size)) if size >= 4 else 0
        chosen: list[int] = []
        for tag in rng.permutation(len(groups)):
            room = slots - len(chosen)
            if room < 2:
                break
            fresh = [int(p) for p in rng.permutation(groups[tag]) if int(p) not in chosen]
            if len(fresh) >= 2:
                chosen += fresh[:min(TAG_GROUP, room)]
        taken = set(chosen)
        rest = [int(p) for p in batch if int(p) not in taken]
        out.append(np.asarray(chosen + rest[:size - len(chosen)], dtype=np.int64))
    return out
