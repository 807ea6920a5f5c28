"""Batch reads: read_batch against a frame-by-frame reference and the item API, dtypes, buffer reuse, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmx_core.data import BatchBuffers, DatasetWriter, ExpertSpec, TrailerStore, collate_clips, read_batch
from mmx_core.base.errors import MMXError
from mmx_core.train.inference import to_device
from mmx_core.train.sampling import TrailerSequences

EXPERTS = {"image": ExpertSpec(5, "pooled"), "motion": ExpertSpec(3, "pooled"), "audio": ExpertSpec(2, "frames")}
CLIPS = 4


@pytest.fixture(scope="module", params=["float16", "float32"])
def ragged_store(tmp_path_factory, request):
    """30 trailers: 1-5 sequences of 1-4 clips, pooled experts missing in some clips, 0-5 audio frames a clip."""
    rng = np.random.default_rng(7)
    out = tmp_path_factory.mktemp("ragged") / "set"
    writer = DatasetWriter(out, ["Action", "Drama"], EXPERTS, clips_per_sequence=CLIPS, dtype=request.param)
    for i in range(30):
        clip_counts = rng.integers(1, CLIPS + 1, size=rng.integers(1, 6))
        n_clips = int(clip_counts.sum())
        frames = {name: (rng.integers(0, 6, n_clips) if spec.temporal == "frames" else rng.random(n_clips) > 0.2)
                  for name, spec in EXPERTS.items()}
        frames["audio"][sum(f.astype(int) for f in frames.values()) == 0] = 1  # every clip has some expert
        features = {name: (rng.normal(size=(int(f.sum()), EXPERTS[name].dim)).astype(np.float16), f.astype(int))
                    for name, f in frames.items()}
        row = {"id": f"t{i}", "title": f"T {i}", "year": 2000, "genres": ["Drama"], "split": "train"}
        writer.add_trailer(row, clip_counts, features)
    writer.finish()
    return TrailerStore.open(out)


def _reference(store: TrailerStore, trailers, sequences) -> dict:
    """The padded batch built frame by frame from the memory maps (float32 numpy)."""
    chosen = [np.arange(store.sequence_count(t)) if s is None else np.asarray(s) for t, s in zip(trailers, sequences)]
    n_b, n_s = len(trailers), max(len(s) for s in chosen)
    clip_mask = np.zeros((n_b, n_s, CLIPS), bool)
    frames: dict = {name: {} for name in store.manifest.experts}
    for b, (t, seqs) in enumerate(zip(trailers, chosen)):
        for s, q in enumerate(store.sequence_offsets[t] + seqs):
            for c, clip in enumerate(range(store.clip_offsets[q], store.clip_offsets[q + 1])):
                clip_mask[b, s, c] = True
                for name, offsets in store.frame_offsets.items():
                    frames[name][b, s, c] = np.asarray(store.features[name][offsets[clip]:offsets[clip + 1]])
    features, frame_mask = {}, {}
    for name, spec in store.manifest.experts.items():
        n_f = max([1] + [len(f) for f in frames[name].values()])
        features[name] = np.zeros((n_b, n_s, CLIPS, n_f, spec.dim), np.float32)
        frame_mask[name] = np.zeros((n_b, n_s, CLIPS, n_f), bool)
        for (b, s, c), rows in frames[name].items():
            features[name][b, s, c, :len(rows)] = rows
            frame_mask[name][b, s, c, :len(rows)] = True
    return {"features": features, "frame_mask": frame_mask, "clip_mask": clip_mask,
            "sequence_mask": np.arange(n_s)[None, :] < np.array([len(s) for s in chosen])[:, None]}


def _random_request(store: TrailerStore, rng: np.random.Generator, max_batch: int = 6):
    trailers = rng.integers(0, store.n_trailers, rng.integers(1, max_batch + 1))
    sequences = []
    for t in trailers:
        count = store.sequence_count(int(t))
        sequences.append(None if rng.random() < 0.3 else rng.permutation(count)[:rng.integers(1, count + 1)])
    return trailers, sequences


def _assert_same(batch: dict, expected: dict) -> None:
    """Equal shapes, dtypes (after casting features to float32) and bits."""
    for key in ("clip_mask", "sequence_mask"):
        np.testing.assert_array_equal(np.asarray(batch[key]), expected[key])
        assert np.asarray(batch[key]).dtype == bool
    assert list(batch["features"]) == list(expected["features"])
    for name, want in expected["features"].items():
        got = torch.as_tensor(batch["features"][name]).float().numpy()
        assert got.shape == want.shape and got.tobytes() == np.asarray(want, np.float32).tobytes(), name
        np.testing.assert_array_equal(np.asarray(batch["frame_mask"][name]), expected["frame_mask"][name])


def test_read_batch_matches_reference_and_item_api(ragged_store):
    rng = np.random.default_rng(0)
    for _ in range(25):
        trailers, sequences = _random_request(ragged_store, rng)
        expected = _reference(ragged_store, trailers, sequences)
        _assert_same(read_batch(ragged_store, trailers, sequences), expected)
        _assert_same(collate_clips([ragged_store.read(int(t), s) for t, s in zip(trailers, sequences)]), expected)


def test_read_batch_on_generated_set(tiny_set_source):
    store, rng = TrailerStore.open(tiny_set_source), np.random.default_rng(1)
    for _ in range(5):
        trailers, sequences = _random_request(store, rng, max_batch=8)
        items = collate_clips([store.read(int(t), s) for t, s in zip(trailers, sequences)])
        batch = read_batch(store, trailers, sequences)
        _assert_same(batch, {key: value if key in ("features", "frame_mask") else value.numpy()
                             for key, value in items.items()})


def test_float16_output_is_the_stored_values(ragged_store):
    trailers, sequences = _random_request(ragged_store, np.random.default_rng(2), max_batch=10)
    half = read_batch(ragged_store, trailers, sequences, dtype=torch.float16)
    full = read_batch(ragged_store, trailers, sequences)
    for name in EXPERTS:
        assert half["features"][name].dtype == torch.float16 and full["features"][name].dtype == torch.float32
        assert torch.equal(half["features"][name], full["features"][name].half())  # rounded once if stored float32
    moved = to_device(half, torch.device("cpu"), BatchBuffers())  # the consumer's cast
    assert all(torch.equal(moved["features"][n], half["features"][n].float()) for n in EXPERTS)
    assert moved["features"]["image"].dtype == torch.float32 and moved["clip_mask"].dtype == torch.bool
    if ragged_store.manifest.dtype == "float16":  # the store's own dtype: the cast gives the float32 read exactly
        assert all(torch.equal(moved["features"][n], full["features"][n]) for n in EXPERTS)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_reused_buffers_pad_a_smaller_batch_after_a_larger_one(ragged_store, dtype):
    counts = ragged_store.sequence_counts()
    big = np.argsort(-counts)[:8]                     # the trailers with most sequences, all of them
    small = [int(np.argmin(counts))] * 2              # then few sequences: smaller S (and F)
    buffers = BatchBuffers()
    first = read_batch(ragged_store, big, dtype=dtype, buffers=buffers)
    pointer = first["features"]["audio"].data_ptr()
    for block in buffers._blocks.values():            # stale values must not leak into the padding
        block.fill_(7)
    second = read_batch(ragged_store, small, [[0], None], dtype=dtype, buffers=buffers)
    assert second["features"]["audio"].data_ptr() == pointer  # the same memory, no new block
    assert second["features"]["audio"].shape[1] < first["features"]["audio"].shape[1]
    _assert_same(second, _reference(ragged_store, small, [[0], None]))
    again = read_batch(ragged_store, big, dtype=dtype, buffers=buffers)  # grows back
    _assert_same(again, _reference(ragged_store, big, [None] * len(big)))


def _collate_items(items: list[dict]) -> dict:
    """Items of a TrailerSequences collated one by one: what its ``batch`` must equal."""
    out = {"batch": collate_clips([item["clips"] for item in items]),
           "labels": torch.from_numpy(np.stack([item["label"] for item in items]).astype(np.float32)),
           "index": torch.tensor([item["index"] for item in items], dtype=torch.long)}
    if "clips_b" in items[0]:
        out["batch_b"] = collate_clips([item["clips_b"] for item in items])
    return out


def test_dataset_batch_equals_collated_items(ragged_store):
    rows = np.arange(ragged_store.n_trailers)
    positions = [3, 0, 17, 9, 3]
    buffers = BatchBuffers()
    for mode in ("sample", "pairs", "all"):
        dataset = TrailerSequences(ragged_store, rows, mode, n_sequences=2, seed=4)
        dataset.set_epoch(3)
        items = [dataset[i] for i in positions]
        expected = _collate_items(items)
        got = dataset.batch(positions, buffers=buffers)
        assert sorted(got) == sorted(expected)
        for key in ("batch", "batch_b") if mode == "pairs" else ("batch",):
            _assert_same(got[key], {k: v if k in ("features", "frame_mask") else v.numpy()
                                    for k, v in expected[key].items()})
        assert torch.equal(got["labels"], expected["labels"]) and torch.equal(got["index"], expected["index"])
    # pairs joined: halves A then halves B in one batch, labels and index repeated
    pairs = TrailerSequences(ragged_store, rows, "pairs", n_sequences=2, seed=4)
    items = [pairs[i] for i in positions]
    both = [{"clips": it["clips"], "label": it["label"], "index": it["index"]} for it in items]
    both += [{"clips": it["clips_b"], "label": it["label"], "index": it["index"]} for it in items]
    expected, joined = _collate_items(both), pairs.batch(positions, join_pairs=True)
    assert "batch_b" not in joined and torch.equal(joined["index"], expected["index"])
    _assert_same(joined["batch"], {k: v if k in ("features", "frame_mask") else v.numpy()
                                   for k, v in expected["batch"].items()})


def test_errors_name_the_bad_request(ragged_store):
    n = ragged_store.n_trailers
    with pytest.raises(MMXError, match=rf"trailer index {n} out of range 0..{n - 1}"):
        read_batch(ragged_store, [0, n])
    with pytest.raises(MMXError, match="trailer index -1 out of range"):
        read_batch(ragged_store, [-1])
    count = ragged_store.sequence_count(0)
    with pytest.raises(MMXError, match=rf"trailer 0 has {count} sequences; asked for \[{count}\]"):
        read_batch(ragged_store, [0], [[count]])
    with pytest.raises(MMXError, match="at least one trailer"):
        read_batch(ragged_store, [])
    with pytest.raises(MMXError, match="got 2 trailers but 1 lists of sequences"):
        read_batch(ragged_store, [0, 1], [None])
    with pytest.raises(MMXError, match="dtype must be one of"):
        read_batch(ragged_store, [0], dtype=torch.float64)


def test_reads_run_on_one_thread_and_restore_the_thread_count(ragged_store, monkeypatch):
    seen = []

    def index_fill_(self, *args):  # records the thread count the padding is zeroed with
        seen.append(torch.get_num_threads())
        return self.zero_()

    monkeypatch.setattr(torch.Tensor, "index_fill_", index_fill_)
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        read_batch(ragged_store, [0, 1, 2], [[0], [0], [0]])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)
    assert seen and set(seen) == {1}
