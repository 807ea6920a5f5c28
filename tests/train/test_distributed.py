"""The train command under torchrun with 2 CPU processes (gloo) matches one process on the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmx_train_toys import TINY_MODEL_ARGS
from mmx_core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _train(stage, data, out, *extra):
    return ["train", "--stage", stage, "--data", str(data), "--out", str(out), "--epochs", "2", "--batch-size", "16",
            "--device", "cpu", "--seed", "1", "--precision", "fp32", *extra]  # float32: the same sums, to 1e-4


def _torchrun(args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "mmx_core", *args]
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]


def _state(run):
    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tiny_data, tmp_path):
    model_args = [*TINY_MODEL_ARGS, "--dropout", "0"]
    _torchrun(_train("coarse", tiny_data, tmp_path / "ddp_coarse", *model_args))
    _torchrun(_train("fine", tiny_data, tmp_path / "ddp_fine", "--init", str(tmp_path / "ddp_coarse")))
    assert main(_train("coarse", tiny_data, tmp_path / "one_coarse", *model_args)) == 0
    assert main(_train("fine", tiny_data, tmp_path / "one_fine", "--init", str(tmp_path / "one_coarse"))) == 0
    for stage in ("coarse", "fine"):
        ddp, one = _state(tmp_path / f"ddp_{stage}"), _state(tmp_path / f"one_{stage}")
        assert ddp["epoch"] == one["epoch"] == 2
        for key, value in one["model"].items():
            assert torch.allclose(ddp["model"][key], value, atol=1e-4, rtol=1e-3), (stage, key)
        for a, b in zip(ddp["history"], one["history"]):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
            assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
