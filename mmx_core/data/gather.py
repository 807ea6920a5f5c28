"""Where every frame of a padded batch comes from: :class:`BatchLayout` and :func:`gather_frames`.

A batch of B trailers is laid out as (B, S, C, F) frame slots per expert (S sequences, C clips
a sequence, F frames a clip, all padded to the batch's largest). The layout maps every slot to a
row of the expert's feature table (or marks it as padding); :func:`gather_frames` then fills a
(B, S, C, F, D) output with one row gather and zeroes the padded slots only. The store's reads
(:meth:`TrailerStore.read`, :func:`mmx_core.data.read_batch`) and :func:`mmx_core.data.collate_clips`
all go through it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from mmx_core.base.errors import MMXError

__all__ = ["BatchLayout", "gather_frames", "one_thread"]


@dataclass
class BatchLayout:
    """Masks of a padded batch and, per expert, the source row of every frame slot.

    Attributes
    ----------
    sequence_mask : ndarray of shape (B, S)
        bool, True for real sequences.
    clip_mask : ndarray of shape (B, S, C)
        bool, True where the clip exists.
    frame_mask : dict of str to ndarray of shape (B, S, C, F)
        bool, True where the expert has a frame (F >= 1, the batch's largest frame count).
    rows : dict of str to ndarray of shape (B * S * C * F,)
        int64 row of the expert's feature table for each slot, in C order; 0 in padded slots.
    sequences : list of ndarray
        Per trailer, the sequences read (0-based within the trailer); empty for
        :meth:`of_clips`.
    """

    sequence_mask: np.ndarray
    clip_mask: np.ndarray
    frame_mask: dict[str, np.ndarray]
    rows: dict[str, np.ndarray]
    sequences: list[np.ndarray]

    def feature_shape(self, name: str, dim: int) -> tuple[int, ...]:
        """(B, S, C, F, D) of expert ``name`` with feature dim ``dim``."""
        return (*self.frame_mask[name].shape, dim)

    @classmethod
    def of_sequences(cls, store, trailers: Sequence[int], sequences=None) -> "BatchLayout":
        """The layout of reading ``sequences[b]`` of trailer ``trailers[b]`` from ``store``.

        ``store``, ``trailers`` (length B) and ``sequences`` are as in :func:`mmx_core.data.read_batch`.

        Raises
        ------
        MMXError
            When a trailer index or a sequence index is out of range.
        """
        n_b = len(trailers)
        if n_b == 0:
            raise MMXError("a batch needs at least one trailer", store.path)
        sequences = [None] * n_b if sequences is None else list(sequences)
        if len(sequences) != n_b:
            raise MMXError(f"got {n_b} trailers but {len(sequences)} lists of sequences", store.path)
        local, first = [], np.empty(n_b, dtype=np.int64)
        for b, (t, chosen) in enumerate(zip(trailers, sequences)):
            t = int(t)
            if not 0 <= t < store.n_trailers:
                raise MMXError(f"trailer index {t} out of range 0..{store.n_trailers - 1}", store.path)
            count = store.sequence_count(t)
            if chosen is None:
                chosen = np.arange(count)
            else:
                chosen = np.asarray(chosen, dtype=np.int64).reshape(-1)
                if len(chosen) and (chosen.min() < 0 or chosen.max() >= count):
                    raise MMXError(f"trailer {t} has {count} sequences; asked for {chosen.tolist()}", store.path)
            local.append(chosen)
            first[b] = store.sequence_offsets[t]
        lengths = np.array([len(chosen) for chosen in local], dtype=np.int64)
        n_s, n_c = int(lengths.max()), store.manifest.clips_per_sequence
        # the real sequences, flattened: global sequence id and slot b * S + s in the batch
        seqs = np.repeat(first, lengths) + (np.concatenate(local) if lengths.sum() else np.zeros(0, np.int64))
        slots = np.repeat(np.arange(n_b) * n_s, lengths) + _ranks(lengths)
        clip_start = store.clip_offsets[seqs]
        clip_count = store.clip_offsets[seqs + 1] - clip_start
        clip_ok = np.arange(n_c)[None, :] < clip_count[:, None]                        # (N, C)
        clip_ids = np.where(clip_ok, clip_start[:, None] + np.arange(n_c)[None, :], 0)  # (N, C)
        frame_mask, rows = {}, {}
        for name in store.manifest.experts:
            offsets = store.frame_offsets[name]
            start = offsets[clip_ids]
            count = np.where(clip_ok, offsets[clip_ids + 1] - start, 0)                 # (N, C)
            n_f = max(1, int(count.max()) if count.size else 1)
            mask = np.arange(n_f)[None, None, :] < count[..., None]                     # (N, C, F)
            frame_mask[name] = _scatter(mask, slots, (n_b * n_s, n_c, n_f)).reshape(n_b, n_s, n_c, n_f)
            source = np.where(mask, start[..., None] + np.arange(n_f)[None, None, :], 0)
            rows[name] = _scatter(source, slots, (n_b * n_s, n_c, n_f)).reshape(-1)
        return cls(sequence_mask=_scatter(np.ones(len(seqs), bool), slots, (n_b * n_s,)).reshape(n_b, n_s),
                   clip_mask=_scatter(clip_ok, slots, (n_b * n_s, n_c)).reshape(n_b, n_s, n_c),
                   frame_mask=frame_mask, rows=rows, sequences=local)

    @classmethod
    def of_clips(cls, items: Sequence) -> tuple["BatchLayout", dict[str, np.ndarray]]:
        """The layout of padding already-read trailers to one batch, and the frames to gather.

        Returns
        -------
        layout : BatchLayout
        frames : dict of str to ndarray of shape (n_frames, D)
            Per expert, the items' real frames (where ``frame_mask`` is True), in C order.
        """
        if not items:
            raise ValueError("collate_clips needs at least one TrailerClips")
        n_b = len(items)
        lengths = np.array([item.clip_mask.shape[0] for item in items])
        n_s, n_c = int(lengths.max()), items[0].clip_mask.shape[1]
        clip_mask = np.zeros((n_b, n_s, n_c), dtype=bool)
        for b, item in enumerate(items):
            clip_mask[b, :lengths[b]] = item.clip_mask
        frame_mask, rows, frames = {}, {}, {}
        for name in items[0].features:
            n_f = max(item.frame_mask[name].shape[2] for item in items)
            mask = np.zeros((n_b, n_s, n_c, n_f), dtype=bool)
            for b, item in enumerate(items):
                part = item.frame_mask[name]
                mask[b, :part.shape[0], :, :part.shape[2]] = part
            flat = mask.reshape(-1)
            rows[name] = np.zeros(flat.shape, dtype=np.int64)
            rows[name][flat] = np.arange(int(flat.sum()))
            frame_mask[name] = mask
            frames[name] = np.concatenate([item.features[name][item.frame_mask[name]] for item in items])
        layout = cls(sequence_mask=np.arange(n_s)[None, :] < lengths[:, None], clip_mask=clip_mask,
                     frame_mask=frame_mask, rows=rows, sequences=[])
        return layout, frames


def gather_frames(out: torch.Tensor, table: torch.Tensor, rows: np.ndarray, mask: np.ndarray,
                  scratch: torch.Tensor | None = None) -> None:
    """Fill ``out`` with rows of ``table``: one gather, then zeros in the padded slots only.

    Parameters
    ----------
    out : Tensor of shape (B, S, C, F, D)
        Contiguous; float16 or float32. Every element is written.
    table : Tensor of shape (n_rows, D)
        An expert's feature table (e.g. the store's memory map viewed as a tensor).
    rows : ndarray of shape (B * S * C * F,)
        int64 source row of each slot (any valid row where ``mask`` is False).
    mask : ndarray of shape (B, S, C, F)
        bool, True where the slot holds a frame.
    scratch : Tensor, optional
        Contiguous memory of ``table``'s dtype and at least ``out``'s size, used when the
        dtypes differ (the gather lands there, then one cast copy into ``out``); default:
        fresh memory.

    Notes
    -----
    Runs on one torch thread: the copies are bound by memory bandwidth, and on cores shared with
    other jobs every multi-threaded op waits for a descheduled thread (measured on the 2-core VM
    under load: 14x slower with 2 threads than with 1).
    """
    flat = out.view(-1, out.shape[-1])
    mask = mask.reshape(-1)
    with one_thread():
        if not mask.any():
            flat.zero_()
            return
        index = torch.from_numpy(rows)
        if table.dtype == out.dtype:
            torch.index_select(table, 0, index, out=flat)
        else:
            into = None if scratch is None else scratch.view(-1)[:flat.numel()].view(flat.shape)
            flat.copy_(torch.index_select(table, 0, index, out=into))
        padding = np.flatnonzero(~mask)
        if len(padding):
            flat.index_fill_(0, torch.from_numpy(padding), 0)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one torch thread, then restore the thread count (switching costs < 1 us)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each run of length n, concatenated: [2, 3] -> [0, 1, 0, 1, 2]."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total) - starts


def _scatter(values: np.ndarray, slots: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A zero array of ``shape`` with ``values[i]`` written at leading index ``slots[i]``."""
    out = np.zeros(shape, dtype=values.dtype)
    out[slots] = values
    return out
