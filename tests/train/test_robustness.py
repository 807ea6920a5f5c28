"""Kill-and-resume, corrupt and mismatched checkpoints, NaN loss."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mmx_train_toys import TINY_MODEL, TINY_MODEL_ARGS, make_set
from mmx_core.cli import main
from mmx_core.data import TrailerStore
from mmx_core.base.errors import MMXError
from mmx_core.model import ModelConfig
from mmx_core.train import TrainConfig, embed_store, load_checkpoint, predict_scores, train

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 6


def _args(data, out, *extra):
    return ["train", "--stage", "coarse", "--data", str(data), "--out", str(out), "--epochs", str(EPOCHS),
            "--batch-size", "16", "--patience", "100", "--seed", "3", *TINY_MODEL_ARGS, *extra]


def _weights(path):
    return torch.load(path, weights_only=True)["model"]


@pytest.fixture(scope="module")
def unbroken(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("unbroken") / "run"
    assert main(_args(tiny_data, out)) == 0
    return out


def test_killed_run_resumes_to_the_unbroken_result(tiny_data, unbroken, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mmx_core", *_args(tiny_data, out)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    events = out / "events.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if events.exists() and '"event": "epoch"' in events.read_text():
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert 1 <= state["epoch"] < EPOCHS, "the run was not killed mid-way"
    assert main(_args(tiny_data, out, "--resume")) == 0
    resumed, reference = _weights(out / "checkpoints" / "last.pt"), _weights(unbroken / "checkpoints" / "last.pt")
    assert resumed.keys() == reference.keys()
    for key in reference:
        assert torch.equal(resumed[key], reference[key]), key
    history = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["history"]
    assert history == torch.load(unbroken / "checkpoints" / "last.pt", weights_only=True)["history"]
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert any("resumed after epoch" in line for line in events.read_text().splitlines())


def test_resume_of_a_finished_run_changes_nothing(tiny_data, unbroken):
    before = (unbroken / "checkpoints" / "last.pt").read_bytes()
    assert main(_args(tiny_data, unbroken, "--resume")) == 0
    assert (unbroken / "checkpoints" / "last.pt").read_bytes() == before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign"])
def test_corrupt_checkpoint_is_a_clear_error_and_kept(tiny_data, unbroken, tmp_path, damage):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    good = (unbroken / "checkpoints" / "last.pt").read_bytes()
    bad = {"garbage": b"not a checkpoint at all", "truncated": good[: len(good) // 2], "foreign": None}[damage]
    target = run / "checkpoints" / "last.pt"
    if bad is None:
        torch.save({"weights": torch.zeros(3)}, target)
        bad = target.read_bytes()
    else:
        target.write_bytes(bad)
    match = "not an MMX checkpoint" if damage == "foreign" else "corrupt"
    with pytest.raises(MMXError, match=match):
        train(TrainConfig(stage="coarse", data=tiny_data, out=run, epochs=2, resume=True))
    assert target.read_bytes() == bad  # never overwritten
    with pytest.raises(MMXError, match=match):
        load_checkpoint(target)
    assert json.loads((run / "status.json").read_text())["state"] == "failed"


def test_resume_on_other_data_is_refused(other_data, unbroken, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    good = (unbroken / "checkpoints" / "last.pt").read_bytes()
    (run / "checkpoints" / "last.pt").write_bytes(good)
    with pytest.raises(MMXError, match="other data"):
        train(TrainConfig(stage="coarse", data=other_data, out=run, epochs=EPOCHS + 1, resume=True))
    assert (run / "checkpoints" / "last.pt").read_bytes() == good
    with pytest.raises(MMXError, match="other data"):  # a fine stage on other data than its coarse init
        train(TrainConfig(stage="fine", data=other_data, out=tmp_path / "fine", init=unbroken))


def test_other_dims_and_genres_are_refused(unbroken, tmp_path):
    wide = make_set(tmp_path / "wide", n=40, seed=4, dims={"image": 20, "scene": 12, "motion": 6, "audio": 4})
    with pytest.raises(MMXError, match="'image' has dim 12 in the model but 20"):
        embed_store(wide, unbroken)
    checkpoint = load_checkpoint(unbroken)
    checkpoint.genres = list(reversed(checkpoint.genres))
    with pytest.raises(MMXError, match="genres"):
        predict_scores(make_set(tmp_path / "same", n=40, seed=5), checkpoint, "test")


def test_nan_loss_stops_with_message_and_keeps_last_good(tiny_data, tmp_path, monkeypatch):
    import mmx_core.train.loop as loop

    calls = {"n": 0}
    real = loop.coarse_loss

    def poisoned(logits, labels):
        calls["n"] += 1
        loss = real(logits, labels)
        return loss * float("nan") if calls["n"] > 5 else loss  # 5 steps = epoch 1 of 80 train trailers / 16

    monkeypatch.setattr(loop, "coarse_loss", poisoned)
    store = TrailerStore.open(tiny_data)
    steps = len(store.split_indices("train")) // 16
    run = tmp_path / "run"
    config = TrainConfig(stage="coarse", data=tiny_data, out=run, epochs=3, batch_size=16,
                         model=ModelConfig.for_store(store.manifest, **TINY_MODEL))
    calls["n"] = 5 - steps  # the first NaN comes in the second epoch
    with pytest.raises(MMXError, match=r"loss became nan at epoch 2, step 1; the last good checkpoint .*last.pt was kept"):
        train(config)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values())
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "failed" and "nan" in status["message"]
    assert json.loads((run / "events.jsonl").read_text().splitlines()[-1])["event"] == "error"


def test_early_stopped_run_stays_stopped_on_resume(tiny_data, tmp_path):
    store = TrailerStore.open(tiny_data)
    config = TrainConfig(stage="coarse", data=tiny_data, out=tmp_path / "run", epochs=6, batch_size=16, patience=1,
                         lr=1e-12, model=ModelConfig.for_store(store.manifest, **TINY_MODEL))
    train(config)  # with no learning, epoch 2 does not improve on epoch 1: early stop
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    assert state["epoch"] < 6 and state["bad_epochs"] == 1
    before = last.read_bytes()
    config.resume = True
    train(config)
    assert last.read_bytes() == before


def test_patience_zero_trains_every_epoch_and_keeps_the_last(tiny_data, tmp_path):
    store = TrailerStore.open(tiny_data)
    # no learning: with early stopping this run stops after epoch 2 (test above); with patience 0 it does not
    config = TrainConfig(stage="coarse", data=tiny_data, out=tmp_path / "run", epochs=4, batch_size=16, patience=0,
                         lr=1e-12, model=ModelConfig.for_store(store.manifest, **TINY_MODEL))
    train(config)
    checkpoints = tmp_path / "run" / "checkpoints"
    best = torch.load(checkpoints / "best.pt", weights_only=True)
    assert best["epoch"] == 4 and torch.load(checkpoints / "last.pt", weights_only=True)["epoch"] == 4
    config.resume, config.epochs = True, 5  # a finished fixed-budget run can be extended with --resume
    train(config)
    assert torch.load(checkpoints / "best.pt", weights_only=True)["epoch"] == 5
    with pytest.raises(MMXError, match="patience=-1"):
        TrainConfig(stage="coarse", data=tiny_data, out=tmp_path / "x", patience=-1).validate()


class Died(BaseException):
    """The process ending at a chosen moment (not an error a command would report)."""


def test_a_run_that_dies_after_any_checkpoint_write_resumes_to_the_unbroken_result(tiny_data, tmp_path, monkeypatch):
    import mmx_core.train.loop as loop

    store = TrailerStore.open(tiny_data)

    def config(out, resume=False):
        return TrainConfig(stage="coarse", data=tiny_data, out=out, epochs=2, batch_size=16, patience=0, seed=3,
                           resume=resume, model=ModelConfig.for_store(store.manifest, **TINY_MODEL))

    train(config(tmp_path / "unbroken"))
    real, writes = loop.save_checkpoint, {"left": 0}

    def dies_after_writes(path, state):
        real(path, state)
        writes["left"] -= 1
        if writes["left"] == 0:
            raise Died

    monkeypatch.setattr(loop, "save_checkpoint", dies_after_writes)
    for count in (1, 2, 3):  # two epochs write four files (best.pt and last.pt each); the fourth ends the run
        out, writes["left"] = tmp_path / f"died-after-{count}", count
        with pytest.raises(Died):
            train(config(out))
        writes["left"] = -1
        train(config(out, resume=(out / "checkpoints" / "last.pt").exists()))
        for name in ("last.pt", "best.pt"):
            resumed, reference = _weights(out / "checkpoints" / name), _weights(tmp_path / "unbroken" / "checkpoints" / name)
            assert all(torch.equal(resumed[key], reference[key]) for key in reference), (count, name)
