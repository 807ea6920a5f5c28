"""``fine-curve``: the third-round study (coarse once, then the fine stage epoch by epoch) end to end on a tiny set."""

from __future__ import annotations

import json

import pytest

from mmx_core.cli import main

pytestmark = pytest.mark.slow


def test_fine_curve_scores_every_fine_epoch_and_reuses_the_coarse_run(tmp_path, capsys):
    data, work = tmp_path / "planted", tmp_path / "work"
    assert main(["synth", "--out", str(data), "--trailers", "60", "--seed", "3", "--latent", "planted",
                 "--dims", "image=8,scene=8,motion=4,audio=4"]) == 0
    capsys.readouterr()
    argv = ["fine-curve", "--data", str(data), "--work", str(work), "--coarse-epochs", "1", "--fine-epochs", "2",
            "--fine-batch-size", "16"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert [line.split()[0] for line in lines[:-1]] == ["1", "2"]
    assert len(result["fine_curve"]) == 2 and 0.0 <= result["coarse"] <= 1.0
    assert result["data"] == str(data) and result["batch_size"] == 16
    assert (work / "coarse" / "checkpoints" / "best.pt").exists()
    assert (work / "fine-lr0.0005-t0.5-b16" / "checkpoints" / "last.pt").exists()
    coarse_weights = (work / "coarse" / "checkpoints" / "best.pt").stat().st_mtime_ns
    assert main(argv[:-4] + ["--fine-epochs", "1", "--fine-batch-size", "8"]) == 0     # the coarse run is reused
    assert (work / "coarse" / "checkpoints" / "best.pt").stat().st_mtime_ns == coarse_weights


def test_fine_curve_refuses_its_input_as_work_folder_and_a_set_without_sub_genres(tmp_path, capsys):
    data = tmp_path / "plain"
    assert main(["synth", "--out", str(data), "--trailers", "40", "--seed", "3", "--latent", "published",
                 "--dims", "image=4,scene=4,motion=4,audio=4"]) == 0
    assert main(["fine-curve", "--data", str(data), "--work", str(data)]) == 2
    assert "refused as --work" in capsys.readouterr().err
    assert main(["fine-curve", "--data", str(data), "--work", str(tmp_path / "work")]) == 2
    assert "no 'subgenre' column" in capsys.readouterr().err
