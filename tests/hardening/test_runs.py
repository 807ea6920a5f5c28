"""Runs and jobs are never damaged by a refused command, a reused pid or a malformed file (issue 12, items 4-5)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmx_core import jobs
from job_helpers import wait_for_job
from mmx_core.base.errors import MMXError
from mmx_core.base.locks import folder_lock, lock_holder
from mmx_core.base.paths import runs_dir
from mmx_core.cli import main
from mmx_core.jobs import process, queue

FAKE = str(Path(__file__).parents[1] / "app" / "fake_trainer.py")


@pytest.fixture
def fake(monkeypatch, tiny_data):
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, FAKE])
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.2")
    return tiny_data


def test_a_malformed_job_file_is_shown_as_broken_and_the_queue_goes_on(fake):
    broken = runs_dir() / "broken-run"
    broken.mkdir(parents=True)
    (broken / "job.json").write_text("{not json")
    (broken / "status.json").write_text(json.dumps({"state": "queued"}))
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=2, device="cpu", name="after-broken"))
    assert wait_for_job("after-broken", ("finished",)).progress == 1.0
    listed = {j.name: j.state for j in jobs.list_jobs()}
    assert listed["broken-run"] == "broken"
    with pytest.raises(MMXError, match="broken"):
        jobs.resume("broken-run")


def test_cancel_acts_only_on_queued_or_running_jobs(fake):
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", name="done-run"))
    wait_for_job("done-run", ("finished",))
    before = (runs_dir() / "done-run" / "status.json").read_bytes()
    with pytest.raises(MMXError, match="only queued or running jobs can be cancelled"):
        jobs.cancel("done-run")
    assert (runs_dir() / "done-run" / "status.json").read_bytes() == before


def test_a_reused_pid_is_neither_trusted_nor_signalled(fake):
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        folder = runs_dir() / "stale-run"
        folder.mkdir(parents=True)
        ticks = process.start_ticks(stranger.pid)
        (folder / "job.json").write_text(json.dumps({
            "kind": "train", "request": {"stage": "coarse", "data": fake, "name": "stale-run"}, "device": "cpu",
            "queued": time.time() - 10, "started": time.time() - 9, "pid": stranger.pid, "pid_started": ticks + 1}))
        (folder / "status.json").write_text(json.dumps({"state": "running"}))
        stale = jobs.find_job("stale-run")
        assert not stale.alive and stale.state == "failed"       # the pid belongs to another process now
        with pytest.raises(MMXError, match="only queued or running"):
            jobs.cancel("stale-run")
        jobs.submit(jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", name="not-blocked"))
        wait_for_job("not-blocked", ("finished",))                  # the device was not held by the stranger
        process.stop_group(stranger.pid, ticks + 1)               # wrong start time: never signalled
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_resume_without_a_last_checkpoint_is_refused_and_best_is_kept(tiny_data, tmp_path, capsys):
    from mmx_core.base.paths import data_dir

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "best.pt").write_bytes(b"the best so far")
    code = main(["train", "--stage", "coarse", "--data", str(data_dir() / tiny_data), "--out", str(out), "--resume"])
    assert code == 2 and "last.pt" in capsys.readouterr().err
    assert (out / "checkpoints" / "best.pt").read_bytes() == b"the best so far"


def test_a_second_writer_of_a_run_folder_is_refused_with_the_holders_name(tiny_data, tmp_path, capsys):
    from mmx_core.base.paths import data_dir

    out = tmp_path / "busy-run"
    with folder_lock(out, "run folder"):
        assert lock_holder(out)["pid"] > 0
        code = main(["train", "--stage", "coarse", "--data", str(data_dir() / tiny_data), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "being written by another process (pid" in err
    assert not (out / "status.json").exists() and not (out / "checkpoints").exists()
    assert lock_holder(out) is None                              # released with the holder


def test_a_refused_train_into_a_finished_run_touches_nothing(tiny_data, tmp_path, capsys):
    from mmx_core.base.paths import data_dir

    out = tmp_path / "finished-run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "last.pt").write_bytes(b"last")
    (out / "status.json").write_text(json.dumps({"state": "finished", "message": "best 0.5"}))
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code = main(["train", "--stage", "coarse", "--data", str(data_dir() / tiny_data), "--out", str(out)])
    assert code == 2 and "pass --resume" in capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".writer.lock"}
    assert after == before
