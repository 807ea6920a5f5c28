"""Validation names every defect with its file and row; the validate and synth commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmx_core.cli import main
from mmx_core.data.validate import ensure_valid, validate_dataset
from mmx_core.base.errors import MMXError

from mmx_data_helpers import TINY_DIMS


def _problems(path):
    report = validate_dataset(path)
    assert not report.ok
    return [(p["file"], p["row"], p["message"]) for p in report.problems]


def _edit_table(path, edit):
    table = pd.read_parquet(path / "trailers.parquet")
    edit(table)
    table.to_parquet(path / "trailers.parquet", index=False)


def test_clean_set_reports_summary(tiny_set):
    report = validate_dataset(tiny_set)
    assert report.ok and report.problems == []
    assert report.trailers == 40 and report.clips > 40 * 2 * 5
    assert sum(report.splits.values()) == 40 and set(report.splits) == {"train", "val", "test"}
    assert 1 <= report.mean_labels <= 6 and report.max_labels <= 6
    assert sum(report.genre_counts.values()) == pytest.approx(report.mean_labels * 40)


def test_table_defects_named_with_rows_all_at_once(tiny_set):
    def edit(table):
        table.loc[5, "id"] = table.loc[4, "id"]
        table.at[7, "genres"] = ["Drama", "Polka"]
        table.at[8, "genres"] = []
        table.loc[9, "split"] = "holdout"
    _edit_table(tiny_set, edit)
    problems = _problems(tiny_set)
    assert ("trailers.parquet", 5, f"id 'syn00004' occurs more than once; ids must be unique") in problems
    assert ("trailers.parquet", 7, "genres ['Polka'] are not in the manifest's vocabulary") in problems
    assert ("trailers.parquet", 8, "trailer has no genre; every trailer needs at least one") in problems
    assert ("trailers.parquet", 9, "split 'holdout' is not one of ['train', 'val', 'test']") in problems
    assert len(problems) == 4


def test_feature_shape_dtype_and_nan_defects(tiny_set):
    image = tiny_set / "experts" / "image" / "features.npy"
    np.save(image, np.load(image)[:, :4])
    scene = tiny_set / "experts" / "scene" / "features.npy"
    np.save(scene, np.load(scene).astype(np.float32))
    audio = tiny_set / "experts" / "audio" / "features.npy"
    values = np.load(audio)
    values[[3, 11]] = np.nan
    values[12, 0] = np.inf
    np.save(audio, values)
    problems = _problems(tiny_set)
    assert any(f == "experts/image/features.npy" and "expected (n_frames, 6)" in m for f, _, m in problems)
    assert ("experts/scene/features.npy", None, "dtype is float32, the manifest says float16") in problems
    assert [r for f, r, m in problems if f == "experts/audio/features.npy"] == [3, 11, 12]


def test_index_defects(tiny_set):
    seq = np.load(tiny_set / "index" / "sequence_offsets.npy")
    seq[4] = seq[3]  # trailer 3 loses its sequences
    np.save(tiny_set / "index" / "sequence_offsets.npy", seq)
    offsets = np.load(tiny_set / "experts" / "motion" / "frame_offsets.npy")
    np.save(tiny_set / "experts" / "motion" / "frame_offsets.npy", offsets[:-1])
    problems = _problems(tiny_set)
    assert ("index/sequence_offsets.npy", 3, "trailer has no sequence; every trailer needs at least 1") in problems
    assert any(f == "experts/motion/frame_offsets.npy" and "entries but there are" in m for f, _, m in problems)


def test_clip_count_and_pooled_frames_and_counts(tiny_set):
    clip = np.load(tiny_set / "index" / "clip_offsets.npy")
    clip[1:] += 1  # sequence 0 now claims 10 clips, more than 9
    np.save(tiny_set / "index" / "clip_offsets.npy", clip)
    manifest = json.loads((tiny_set / "manifest.json").read_text())
    manifest["counts"]["trailers"] = 41
    manifest["experts"]["motion"]["temporal"] = "sometimes"
    (tiny_set / "manifest.json").write_text(json.dumps(manifest))
    problems = _problems(tiny_set)
    assert any(f == "manifest.json" and "'temporal' must be one of" in m for f, _, m in problems)
    manifest["experts"]["motion"]["temporal"] = "pooled"
    (tiny_set / "manifest.json").write_text(json.dumps(manifest))
    problems = _problems(tiny_set)
    assert ("index/clip_offsets.npy", 0, "sequence has 10 clips, more than the manifest's 9") in problems
    assert ("manifest.json", None, "counts.trailers is 41 but the data holds 40") in problems


def test_missing_and_unreadable_files(tiny_set, tmp_path):
    (tiny_set / "trailers.parquet").write_bytes(b"PAR1 nonsense")
    (tiny_set / "experts" / "audio" / "frame_offsets.npy").unlink()
    (tiny_set / "experts" / "video").mkdir()
    problems = _problems(tiny_set)
    files = {f for f, _, _ in problems}
    assert {"trailers.parquet", "experts/audio/frame_offsets.npy", "experts/video"} <= files
    assert _problems(tmp_path / "nothing") == [(".", None, "data set folder not found")]
    (tmp_path / "empty").mkdir()
    assert _problems(tmp_path / "empty")[0][:2] == ("manifest.json", None)


def test_ensure_valid_raises_and_caches_clean_result(tiny_set):
    assert ensure_valid(tiny_set) is not None  # ran
    assert ensure_valid(tiny_set) is None      # cached clean result
    _edit_table(tiny_set, lambda t: t.__setitem__("split", ["bad"] * len(t)))
    with pytest.raises(MMXError, match=r"invalid data set: trailers.parquet row 0: split 'bad'.*\(and 18 more\)"):
        ensure_valid(tiny_set)


def test_cli_validate_exit_codes_and_json(tiny_set, capsys):
    assert main(["validate", str(tiny_set)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "trailers 40" in out and "labels per trailer: mean" in out
    assert main(["validate", str(tiny_set), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"ok", "problems", "trailers", "clips", "genre_counts", "mean_labels", "max_labels", "splits"} <= set(report)
    _edit_table(tiny_set, lambda t: t.__setitem__("genres", [[]] + list(t["genres"][1:])))
    assert main(["validate", str(tiny_set), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["problems"][0]["row"] == 0
    assert main(["validate", str(tiny_set)]) == 1
    assert "trailers.parquet row 0: trailer has no genre" in capsys.readouterr().out


def test_cli_synth_writes_traceable_set(tmp_path, capsys):
    dims = ",".join(f"{k}={v}" for k, v in TINY_DIMS.items())
    out = tmp_path / "s"
    assert main(["synth", "--out", str(out), "--trailers", "12", "--seed", "4", "--dims", dims,
                 "--subgenres", "2", "--sequences", "2", "3"]) == 0
    assert "wrote" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["trailers"] == 12 and manifest["generated"] is True
    assert manifest["generator"]["subgenres_per_genre"] == 2 and manifest["generator"]["seed"] == 4
    assert manifest["generator"]["command"].startswith("python -m mmx_core synth --audio-frames 2 6 --clip-noise")
    assert "--seed 4" in manifest["generator"]["command"] and "--sequences 2 3" in manifest["generator"]["command"]
    assert main(["synth", "--out", str(out), "--trailers", "12", "--dims", dims]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path / "t"), "--trailers", "3", "--dims", "image=x"]) == 2
    assert "--dims: expected name=integer" in capsys.readouterr().err
