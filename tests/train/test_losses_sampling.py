"""NT-Xent, BCE and the sequence samplers on toy inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmx_core.train import nt_xent
from mmx_core.train.sampling import TrailerSequences, epoch_batches, sample_sequences, split_halves


def test_nt_xent_known_value():
    eye = torch.eye(2)
    # anchor e1: positive e1 (cos 1), negatives e2, e2 (cos 0); /0.5 -> -log(e^2 / (e^2 + 2))
    assert nt_xent(eye, eye, 0.5).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)), rel=1e-6)
    # swapped pairs: the positive is orthogonal, one negative is identical
    swapped = eye.flip(0)
    expected = -math.log(1 / (1 + 1 + math.exp(2)))
    assert nt_xent(eye, swapped, 0.5).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_lower_for_aligned_pairs_and_scale_free():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(8, 16, generator=gen)
    aligned = nt_xent(a, a + 0.05 * torch.randn(8, 16, generator=gen))
    shuffled = nt_xent(a, a[torch.randperm(8, generator=gen)])
    assert aligned < shuffled
    assert torch.allclose(nt_xent(a, 3 * a), nt_xent(a, a))  # cosine similarity
    assert nt_xent(a, a, temperature=0.1) < nt_xent(a, a, temperature=0.5)


def test_sample_sequences_distinct_and_capped():
    rng = np.random.default_rng(0)
    for count in (1, 3, 10):
        picked = sample_sequences(count, 4, rng)
        assert len(picked) == min(count, 4) and len(set(picked.tolist())) == len(picked)
        assert picked.max() < count


@pytest.mark.parametrize("count", [2, 3, 7, 12])
def test_split_halves_disjoint(count):
    a, b = split_halves(count, 100, np.random.default_rng(count))
    assert not set(a.tolist()) & set(b.tolist())
    assert sorted(a.tolist() + b.tolist()) == list(range(count))
    assert abs(len(a) - len(b)) <= 1
    a, b = split_halves(count, 1, np.random.default_rng(0))
    assert len(a) == len(b) == 1 and a[0] != b[0]


def test_split_halves_single_sequence_reuses_it():
    a, b = split_halves(1, 4, np.random.default_rng(0))
    assert a.tolist() == b.tolist() == [0]


def test_dataset_items_are_seeded_by_epoch_and_trailer(tiny_data):
    from mmx_core.data import TrailerStore

    store = TrailerStore.open(tiny_data)
    rows = store.split_indices("train")
    long = next(i for i, t in enumerate(rows) if store.sequence_count(int(t)) >= 4)  # 2 of >= 4: 6+ choices

    def picks(dataset: TrailerSequences, position: int) -> list[tuple[int, ...]]:
        chosen = []
        for epoch in range(8):
            dataset.set_epoch(epoch)
            chosen.append(tuple(dataset[position]["clips"].sequences.tolist()))
        return chosen

    ds = TrailerSequences(store, rows, "sample", 2, seed=5)
    first = picks(ds, long)
    assert picks(ds, long) == first  # same (seed, epoch, trailer): same choice
    assert len(set(first)) > 1  # another epoch: another choice
    reordered = TrailerSequences(store, rows[::-1], "sample", 2, seed=5)
    assert picks(reordered, len(rows) - 1 - long) == first  # seeded by the trailer, not by its position
    assert picks(TrailerSequences(store, rows, "sample", 2, seed=6), long) != first
    pairs = TrailerSequences(store, rows, "pairs", 3, seed=5)
    item = pairs[0]
    assert not set(item["clips"].sequences.tolist()) & set(item["clips_b"].sequences.tolist())
    full = TrailerSequences(store, rows, "all")[0]["clips"]
    assert full.n_sequences == store.sequence_count(int(rows[0]))
    batch = pairs.batch([0, 1])
    assert batch["labels"].shape == (2, len(store.genres)) and "batch_b" in batch


def test_epoch_batches_full_equal_and_deterministic():
    batches = epoch_batches(23, 8, 2, seed=0, epoch=1)
    assert [len(b) for b in batches] == [8, 8]
    assert len(set(np.concatenate(batches).tolist())) == 16
    again = epoch_batches(23, 8, 2, seed=0, epoch=1)
    assert all((x == y).all() for x, y in zip(batches, again))
    assert not all((x == y).all() for x, y in zip(batches, epoch_batches(23, 8, 2, seed=0, epoch=2)))
    assert [len(b) for b in epoch_batches(5, 8, 2, 0, 0)] == [4]
