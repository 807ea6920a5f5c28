"""Importer of the authors' layout: merging genre folders, masks, safety, broken trees, resume."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from mmx_core.cli import main
from mmx_core.data import TrailerStore
from mmx_core.data.importer import import_mmx, parse_meta, read_meta
from mmx_core.data.validate import validate_dataset
from mmx_core.base.output_writer import stage_dir
from mmx_core.base.errors import MMXError

from mmx_data_helpers import TINY_DIMS, Payload, write_clip, write_trailer

META_PAIR = (["Action", "Comedy", "None", "None", "None", "None"], (2011, 2011))


@pytest.fixture
def good_tree(tmp_path, rng):
    root = tmp_path / "tree"
    frames = {
        "Alpha": write_trailer(root, ["Action", "Comedy"], "Alpha", META_PAIR, rng, scenes=[3, 2]),
        "Beta": write_trailer(root, ["Horror"], "Beta", ["Horror", "None", "None", "None", "None", "None"], rng,
                              scenes=[2], audio_frames=3, motion_folder="motion-embeddings"),
    }
    return root, frames


def test_import_merges_genre_folders_and_keeps_values(good_tree, tmp_path):
    root, frames = good_tree
    result = import_mmx(root, tmp_path / "out", dims=TINY_DIMS)
    assert result.problems == [] and result.trailers == 2 and result.clips == 7
    store = TrailerStore.open(result.path)
    assert store.trailers["id"].tolist() == ["Alpha", "Beta"]  # Alpha once, though under two genre folders
    assert store.trailers["genres"].tolist() == [["Action", "Comedy"], ["Horror"]]
    assert store.trailers["year"][0] == 2011 and store.trailers["year"].isna()[1]
    assert store.manifest.genres == ["Action", "Comedy", "Horror"] and not store.manifest.generated
    assert [store.sequence_count(t) for t in range(2)] == [2, 1]
    clips = store.read(0)
    np.testing.assert_array_equal(clips.clip_mask, [[True] * 3 + [False] * 6, [True] * 2 + [False] * 7])
    # pooled experts are the mean of the frames; audio keeps every frame
    want = frames["Alpha"][(1, 1)]
    np.testing.assert_allclose(clips.features["image"][1, 1, 0], want["image"].mean(0), atol=2e-3)
    np.testing.assert_allclose(clips.features["audio"][1, 1, :2], want["audio"], atol=2e-3)
    beta = store.read(1)
    np.testing.assert_allclose(beta.features["motion"][0, 0, 0], frames["Beta"][(0, 0)]["motion"].mean(0), atol=2e-3)
    assert beta.frame_mask["audio"][0, 0].sum() == 3
    assert validate_dataset(result.path).ok


def test_missing_audio_kept_missing_and_test_folders_chosen_on_request(tmp_path, rng):
    root = tmp_path / "tree"
    write_trailer(root, ["Drama"], "Gamma", ["Drama"], rng, scenes=[2], audio_frames=0)
    clip = root / "Drama" / "Gamma" / "scene0" / "0"
    test_frames = write_clip(clip, rng, prefix="test-")
    plain = TrailerStore.open(import_mmx(root, tmp_path / "a", dims=TINY_DIMS).path).read(0)
    assert not plain.frame_mask["audio"].any() and plain.frame_mask["image"][0, :2].all()
    test = TrailerStore.open(import_mmx(root, tmp_path / "b", dims=TINY_DIMS, test_sampling=True).path)
    assert test.n_clips == 1  # only clip 0 has test- folders
    np.testing.assert_allclose(test.read(0).features["scene"][0, 0, 0], test_frames["scene"].mean(0), atol=2e-3)


@pytest.mark.parametrize("value, genres, year", [
    (["Drama", "None", "None", "None", "None", "None"], ["Drama"], None),
    ((["Action", "Sci-Fi", "None"], (1999, 1999)), ["Action", "Sci-Fi"], 1999),
    ((["War", "None"], ("2004", "2004")), ["War"], 2004),
    (["Comedy", "Family", 2015], ["Comedy", "Family"], 2015),
    ({"genres": ["Music"], "year": 1980}, ["Music"], 1980),
])
def test_parse_meta_forms(value, genres, year):
    assert parse_meta(value) == (genres, year)


def test_meta_pickle_with_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "meta.pkl"
    evil.write_bytes(pickle.dumps(Payload(f"touch {marker}")))
    with pytest.raises(MMXError, match=r"meta.pkl: refused global (posix|os)\.system"):
        read_meta(evil)
    assert not marker.exists()
    numpy_scalar = tmp_path / "np.pkl"
    numpy_scalar.write_bytes(pickle.dumps(np.int64(3)))
    with pytest.raises(MMXError, match="refused global numpy"):
        read_meta(numpy_scalar)
    plain = tmp_path / "ok.pkl"
    plain.write_bytes(pickle.dumps((["Drama", "None"], 2001)))
    assert read_meta(plain) == (["Drama", "None"], 2001)


def test_broken_tree_every_defect_reported_and_nothing_executed(tmp_path, rng):
    root = tmp_path / "tree"
    marker_meta, marker_pt = tmp_path / "pwned-meta", tmp_path / "pwned-pt"
    write_trailer(root, ["Drama"], "Good", ["Drama"], rng, scenes=[2])
    write_trailer(root, ["Drama"], "Bad", ["Drama"], rng, scenes=[3], frames=1, audio_frames=1)
    scene = root / "Drama" / "Bad" / "scene0"
    (scene / "0" / "img-embeddings" / "0.pt").write_bytes(b"not a tensor at all")                 # corrupt tensor
    torch.save(torch.zeros(1, 7), scene / "1" / "location-embeddings" / "0.pt")                    # wrong dim
    torch.save(Payload(f"touch {marker_pt}"), scene / "2" / "audio-embeddings" / "0.pt")           # malicious .pt
    (scene / "3").mkdir()                                                                          # empty clip folder
    (scene / "meta.pkl").write_bytes(pickle.dumps(Payload(f"touch {marker_meta}")))               # malicious meta
    # a trailer whose genre folders disagree: under Horror and Comedy, meta says Horror, copies differ
    write_trailer(root, ["Horror", "Comedy"], "Split", ["Horror", "None"], rng, scenes=[1])
    write_clip(root / "Comedy" / "Split" / "scene0" / "5", rng)
    result = import_mmx(root, tmp_path / "out", dims=TINY_DIMS)
    assert not marker_meta.exists() and not marker_pt.exists()
    text = {p["file"]: p["message"] for p in result.problems}
    assert "cannot read tensor" in text["Drama/Bad/scene0/0/img-embeddings/0.pt"]
    assert "expected last dim 5" in text["Drama/Bad/scene0/1/location-embeddings/0.pt"]
    assert "weights_only" in text["Drama/Bad/scene0/2/audio-embeddings/0.pt"]
    assert "no usable expert feature" in text["Drama/Bad/scene0/3"]
    assert "refused" in text["Drama/Bad/scene0/meta.pkl"]
    split_messages = " | ".join(p["message"] for p in result.problems if "Split" in p["file"])
    assert "genre folders disagree with meta.pkl" in split_messages and "hold different scenes" in split_messages
    store = TrailerStore.open(result.path)
    bad = store.read(int(np.flatnonzero(store.trailers["id"] == "Bad")[0]))
    assert bad.clip_mask.sum() == 3  # the empty clip folder is left out
    assert not bad.frame_mask["image"][0, 0].any() and bad.frame_mask["scene"][0, 0].any()
    assert not bad.frame_mask["scene"][0, 1].any() and not bad.frame_mask["audio"][0, 2].any()
    split_row = int(np.flatnonzero(store.trailers["id"] == "Split")[0])
    assert store.trailers["genres"][split_row] == ["Horror"] and store.read(split_row).clip_mask.sum() == 2
    report = (result.path / "import_report.json").read_text()
    assert "Drama/Bad/scene0/meta.pkl" in report


def test_interrupted_import_resumes_without_redoing_trailers(good_tree, tmp_path, monkeypatch):
    root, _ = good_tree
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        import_mmx(root, out, dims=TINY_DIMS, stop_after=1)
    assert not out.exists() and stage_dir(out).exists()
    import mmx_core.data.importer.convert as importer

    seen = []
    original = importer.read_trailer
    monkeypatch.setattr(importer, "read_trailer", lambda t, *a: seen.append(t.id) or original(t, *a))
    result = import_mmx(root, out, dims=TINY_DIMS)
    assert seen == ["Beta"] and result.resumed == 1 and result.trailers == 2
    reference = import_mmx(root, tmp_path / "ref", dims=TINY_DIMS).path
    for name in TINY_DIMS:
        assert (out / "experts" / name / "features.npy").read_bytes() == \
            (reference / "experts" / name / "features.npy").read_bytes()


def test_import_errors_for_bad_source(tmp_path):
    with pytest.raises(MMXError, match="source folder not found"):
        import_mmx(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MMXError, match="no genre folders found"):
        import_mmx(tmp_path / "empty", tmp_path / "out")


def test_cli_import_prints_summary_and_strict_fails(good_tree, tmp_path, capsys):
    root, _ = good_tree
    dims = ",".join(f"{k}={v}" for k, v in TINY_DIMS.items())
    assert main(["import-mmx", str(root), "--out", str(tmp_path / "a"), "--dims", dims]) == 0
    assert "imported 2 trailers (7 clips)" in capsys.readouterr().out
    (root / "Horror" / "Beta" / "scene0" / "0" / "img-embeddings" / "0.pt").write_bytes(b"junk")
    assert main(["import-mmx", str(root), "--out", str(tmp_path / "b"), "--dims", dims, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and "Horror/Beta/scene0/0/img-embeddings/0.pt: cannot read tensor" in out


def test_long_scene_split_into_sequences_and_meta_disagreement_reported(tmp_path, rng):
    root = tmp_path / "tree"
    write_trailer(root, ["War"], "Long", (["War", "None"], 1990), rng, scenes=[11, 1, 1], frames=1, audio_frames=1)
    (root / "War" / "Long" / "scene1" / "meta.pkl").write_bytes(pickle.dumps((["War", "Drama"], 1990)))
    result = import_mmx(root, tmp_path / "out", dims=TINY_DIMS)
    store = TrailerStore.open(result.path)
    assert store.sequence_count(0) == 4  # 11 clips -> 9 + 2, then two one-clip scenes
    np.testing.assert_array_equal(store.read(0).clip_mask.sum(1), [9, 2, 1, 1])
    assert store.trailers["genres"][0] == ["War"]  # the most common meta.pkl (2 of 3 scenes)
    assert any("meta.pkl files disagree" in p["message"] for p in result.problems)
