"""Writer, store and collate: exact round trip, masks, padding, atomicity, resume, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from mmx_core.data import DatasetWriter, ExpertSpec, TrailerStore, collate_clips
from mmx_core.base.output_writer import stage_dir
from mmx_core.base.errors import MMXError

EXPERTS = {"image": ExpertSpec(3, "pooled"), "audio": ExpertSpec(2, "frames")}
GENRES = ["Action", "Drama", "Comedy"]


def _trailer(rng, tid, clip_counts, audio_frames, genres=("Drama",), split="train"):
    """Random features for one trailer; audio_frames gives the frames of each clip (0 = missing)."""
    n_clips = int(np.sum(clip_counts))
    image = rng.normal(size=(n_clips, 3)).astype(np.float16)
    audio_frames = np.asarray(audio_frames)
    audio = rng.normal(size=(int(audio_frames.sum()), 2)).astype(np.float16)
    row = {"id": tid, "title": f"T {tid}", "year": 2000, "genres": list(genres), "split": split}
    return row, np.asarray(clip_counts), {"image": (image, np.ones(n_clips, int)), "audio": (audio, audio_frames)}


def _write_two(tmp_path, rng, **kwargs):
    out = tmp_path / "set"
    w = DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3, **kwargs)
    t0 = _trailer(rng, "a", [3, 2], [1, 2, 0, 3, 1], genres=("Action", "Drama"))
    t1 = _trailer(rng, "b", [1], [2], split="test")
    w.add_trailer(*t0)
    w.add_trailer(*t1)
    w.finish()
    return out, t0, t1


def test_round_trip_exact_values_and_masks(tmp_path, rng):
    out, (row0, _, f0), (row1, _, f1) = _write_two(tmp_path, rng)
    store = TrailerStore.open(out)
    assert store.n_trailers == 2 and store.n_clips == 6
    assert [store.sequence_count(t) for t in range(2)] == [2, 1]
    assert list(store.manifest.experts) == ["image", "audio"]  # order kept
    assert store.trailers["id"].tolist() == ["a", "b"] and store.trailers["genres"][0] == ["Action", "Drama"]
    np.testing.assert_array_equal(store.labels(), [[1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(store.split_indices("test"), [1])
    clips = store.read(0)
    assert clips.features["image"].shape == (2, 3, 1, 3) and clips.features["image"].dtype == np.float32
    assert clips.features["audio"].shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(clips.clip_mask, [[True, True, True], [True, True, False]])
    # image: clips in order, sequence 1 has 2 clips then padding
    img = f0["image"][0].astype(np.float32)
    np.testing.assert_array_equal(clips.features["image"][0, :, 0], img[:3])
    np.testing.assert_array_equal(clips.features["image"][1, :2, 0], img[3:5])
    assert not clips.features["image"][1, 2].any()
    # audio frames [1, 2, 0 | 3, 1]: clip 2 of sequence 0 is missing (mask all False), not zeros pretending data
    np.testing.assert_array_equal(clips.frame_mask["audio"].sum(-1), [[1, 2, 0], [3, 1, 0]])
    aud = f0["audio"][0].astype(np.float32)
    np.testing.assert_array_equal(clips.features["audio"][0, 1, :2], aud[1:3])
    np.testing.assert_array_equal(clips.features["audio"][1, 0, :3], aud[3:6])


def test_read_subset_keeps_requested_order(tmp_path, rng):
    out, (_, _, f0), _ = _write_two(tmp_path, rng)
    store = TrailerStore.open(out)
    clips = store.read(0, [1, 0])
    np.testing.assert_array_equal(clips.clip_mask, [[True, True, False], [True, True, True]])
    np.testing.assert_array_equal(clips.features["image"][1, :, 0], f0["image"][0][:3].astype(np.float32))
    with pytest.raises(MMXError, match="has 2 sequences"):
        store.read(0, [2])
    with pytest.raises(MMXError, match="out of range"):
        store.read(5)


def test_collate_pads_sequences_and_frames(tmp_path, rng):
    out, _, _ = _write_two(tmp_path, rng)
    store = TrailerStore.open(out)
    batch = collate_clips([store.read(1), store.read(0)])
    assert batch["features"]["image"].shape == (2, 2, 3, 1, 3)
    assert batch["features"]["audio"].shape == (2, 2, 3, 3, 2)
    assert batch["features"]["audio"].dtype == torch.float32 and batch["frame_mask"]["audio"].dtype == torch.bool
    assert batch["sequence_mask"].tolist() == [[True, False], [True, True]]
    assert batch["clip_mask"][0].tolist() == [[True, False, False], [False, False, False]]
    assert batch["frame_mask"]["audio"][0, 0, 0].tolist() == [True, True, False]
    assert not batch["features"]["audio"][0, 1].any()


def test_store_pickles_into_workers_and_reopens_memmaps(tmp_path, rng):
    out, _, _ = _write_two(tmp_path, rng)
    store = TrailerStore.open(out)
    assert isinstance(store.features["image"], np.memmap)
    clone = pickle.loads(pickle.dumps(store))
    assert clone._features is None
    np.testing.assert_array_equal(clone.read(0).features["audio"], store.read(0).features["audio"])
    loader = torch.utils.data.DataLoader([0, 1], batch_size=2, num_workers=1,
                                         collate_fn=lambda ts: collate_clips([store.read(t) for t in ts]))
    (batch,) = list(loader)  # collated inside a worker (shared-memory tensors), sent to this process
    direct = collate_clips([store.read(0), store.read(1)])
    for name in ("image", "audio"):
        assert torch.equal(batch["features"][name], direct["features"][name])
        assert torch.equal(batch["frame_mask"][name], direct["frame_mask"][name])
    assert torch.equal(batch["clip_mask"], direct["clip_mask"])


def test_fingerprint_changes_with_labels_and_splits(tmp_path, rng):
    import pandas as pd

    out, _, _ = _write_two(tmp_path, rng)
    first = TrailerStore.open(out).fingerprint
    assert TrailerStore.open(out).fingerprint == first
    original = pd.read_parquet(out / "trailers.parquet")
    relabelled = original.copy()
    relabelled.at[1, "genres"] = ["Action"]  # was ["Drama"]
    relabelled.to_parquet(out / "trailers.parquet", index=False)
    assert TrailerStore.open(out).labels()[1].tolist() == [1, 0, 0]
    assert TrailerStore.open(out).fingerprint != first
    resplit = original.copy()
    resplit.loc[1, "split"] = "val"
    resplit.to_parquet(out / "trailers.parquet", index=False)
    assert TrailerStore.open(out).fingerprint != first
    original.to_parquet(out / "trailers.parquet", index=False)
    assert TrailerStore.open(out).fingerprint == first  # the table, not the file's time, is what counts


def test_nothing_visible_until_finish_and_failed_build_leaves_no_set(tmp_path, rng):
    out = tmp_path / "set"
    w = DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3)
    w.add_trailer(*_trailer(rng, "a", [3], [1, 1, 1]))
    w.commit()
    assert not out.exists() and stage_dir(out).exists()
    with pytest.raises(MMXError, match="not in the vocabulary"):
        w.add_trailer(*_trailer(rng, "b", [3], [1, 1, 1], genres=("Western",)))
    w.close()
    assert not out.exists()
    with pytest.raises(MMXError, match="already exists"):
        out.mkdir()
        DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3)


def test_writer_rejects_bad_input(tmp_path, rng):
    w = DatasetWriter(tmp_path / "s", GENRES, EXPERTS, clips_per_sequence=3)
    row, clips, feats = _trailer(rng, "a", [3], [1, 1, 1])
    with pytest.raises(MMXError, match=r"frames must have shape \(n_frames, 3\)"):
        w.add_trailer(row, clips, {**feats, "image": (np.zeros((3, 4)), np.ones(3, int))})
    with pytest.raises(MMXError, match="1..3 clips"):
        w.add_trailer(row, np.array([4]), feats)
    with pytest.raises(MMXError, match="NaN/Inf"):
        w.add_trailer(row, clips, {**feats, "image": (np.full((3, 3), 1e6), np.ones(3, int))})  # float16 overflow
    w.add_trailer(row, clips, feats)
    with pytest.raises(MMXError, match="written twice"):
        w.add_trailer(row, clips, feats)
    w.close()


def test_resume_cuts_back_to_last_commit(tmp_path, rng):
    out = tmp_path / "set"
    params = {"command": "synth --seed 1", "seed": 1}
    w = DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3, generator=params)
    t0 = _trailer(rng, "a", [3], [1, 1, 1])
    w.add_trailer(*t0)
    w.commit()
    w.add_trailer(*_trailer(rng, "lost", [2], [2, 2]))  # written but never committed: a crash here
    w.close()
    with pytest.raises(MMXError, match="other parameters"):
        DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3, generator={**params, "seed": 2}, resume=True)
    # the command line alone may differ (options that do not change the data)
    w = DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3, generator={**params, "command": "x --show 5"},
                      resume=True)
    assert w.done_ids == {"a"}
    t1 = _trailer(rng, "b", [1, 2], [1, 1, 0])
    w.add_trailer(*t1)
    w.finish()
    store = TrailerStore.open(out)
    assert store.trailers["id"].tolist() == ["a", "b"] and store.n_clips == 6
    np.testing.assert_array_equal(store.read(1).features["image"][1, :2, 0], t1[2]["image"][0][1:].astype(np.float32))
    assert not stage_dir(out).exists()


def test_overwrite_replaces_existing_set(tmp_path, rng):
    out, _, _ = _write_two(tmp_path, rng)
    w = DatasetWriter(out, GENRES, EXPERTS, clips_per_sequence=3, overwrite=True)
    w.add_trailer(*_trailer(rng, "z", [1], [1]))
    assert TrailerStore.open(out).n_trailers == 2  # old set intact until finish
    w.finish()
    assert TrailerStore.open(out).trailers["id"].tolist() == ["z"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["set"]


def test_open_rejects_missing_or_invalid_set(tmp_path, tiny_set):
    with pytest.raises(MMXError, match="data set folder not found"):
        TrailerStore.open(tmp_path / "nope")
    (tiny_set / "index" / "clip_offsets.npy").write_bytes(b"garbage")
    with pytest.raises(MMXError, match=r"invalid data set: .*clip_offsets.npy"):
        TrailerStore.open(tiny_set)


def test_collate_overwrites_every_element_of_uninitialised_buffers(tmp_path, rng, monkeypatch):
    import mmx_core.data.batching as batching

    out, _, _ = _write_two(tmp_path, rng)
    store = TrailerStore.open(out)
    clean = collate_clips([store.read(1), store.read(0)])
    # buffers full of garbage: padding must still come out as zeros / False
    monkeypatch.setattr(batching, "_empty", lambda shape, dtype: torch.full(shape, 7, dtype=dtype))
    dirty = collate_clips([store.read(1), store.read(0)])
    for key in ("clip_mask", "sequence_mask"):
        assert torch.equal(clean[key], dirty[key])
    for name in ("image", "audio"):
        assert torch.equal(clean["features"][name], dirty["features"][name])
        assert torch.equal(clean["frame_mask"][name], dirty["frame_mask"][name])
