"""The job queue: validated commands, queue per device, cancel, resume, real trainer end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mmx_core import workspace
from mmx_core.appkit import evalview

from mmx_core import jobs
from job_helpers import wait_for_job
from mmx_core.jobs import process, queue
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir, runs_dir

FAKE = str(Path(__file__).with_name("fake_trainer.py"))


@pytest.fixture
def tiny(tiny_data):
    return tiny_data


@pytest.fixture
def fake(monkeypatch, tiny):
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, FAKE])
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.3")
    return tiny


def test_command_is_a_list_of_known_parameters(tiny):
    request = jobs.TrainRequest("coarse", tiny, epochs=2, batch_size=4, device="cpu", seed=3, name="r1").validated()
    argv = jobs.build_command(request, runs_dir() / "r1")
    assert argv[:3] == [sys.executable, "-m", "mmx_core"]
    assert argv[3:] == ["train", "--stage", "coarse", "--data", str((data_dir() / tiny).resolve()), "--out",
                        str((runs_dir() / "r1").resolve()), "--epochs", "2", "--batch-size", "4", "--device", "cpu",
                        "--seed", "3"]


@pytest.mark.parametrize("changes, message", [
    ({"stage": "medium"}, "stage 'medium' is not one of"),
    ({"device": "tpu"}, "device 'tpu'"),
    ({"epochs": 0}, "epochs must be an integer in 1..1000"),
    ({"batch_size": "8; rm -rf /"}, "batch_size must be an integer"),
    ({"data": "../../etc"}, "data set '../../etc' is not allowed"),
    ({"data": "absent"}, "is not a data set folder"),
    ({"init": "/etc/passwd"}, "starting checkpoint '/etc/passwd' is outside"),
    ({"device": "cuda"}, "no CUDA GPU is available"),
    ({"name": "a b;c"}, "run name 'a b;c' is not allowed"),
    ({"name": "run\n"}, "is not allowed"),
])
def test_bad_requests_are_refused(tiny, changes, message):
    fields = {"stage": "coarse", "data": tiny, **changes}
    with pytest.raises(MMXError, match=message):
        jobs.submit(jobs.TrainRequest(**fields))


def test_runs_queue_per_device_and_cancel_kills_the_process_group(fake):
    first = jobs.submit(jobs.TrainRequest("coarse", fake, epochs=200, device="cpu", name="q-first"))
    second = jobs.submit(jobs.TrainRequest("coarse", fake, epochs=2, device="cpu", name="q-second"))
    running = wait_for_job("q-first", ("running",))
    assert wait_for_job("q-second", ("queued",)).job.get("pid") is None
    pid = running.job["pid"]
    jobs.cancel("q-first")
    assert wait_for_job("q-first", ("cancelled",)).alive is False
    assert not process.group_alive(pid)                      # trainer and supervisor are gone
    done = wait_for_job("q-second", ("finished",), seconds=30)     # started when the device freed
    assert done.progress == 1.0 and (second / "log.txt").read_text().count("epoch") >= 2
    assert not jobs.read_events("q-second").empty and "val_auprc_w" in jobs.read_events("q-second")
    assert "fake trainer starting" in jobs.tail_log("q-first")
    assert first.exists()


def test_resume_relaunches_with_resume_flag(fake):
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=100, device="cpu", name="r-run"))
    wait_for_job("r-run", ("running",))
    jobs.cancel("r-run")
    with pytest.raises(MMXError, match="no job called"):
        jobs.resume("missing-run")
    jobs.resume("r-run")
    run = wait_for_job("r-run", ("running",))
    assert run.job["argv"][-1] == "--resume"
    jobs.cancel("r-run")


@pytest.mark.slow
def test_real_trainer_on_a_tiny_set_then_embed(tiny):
    jobs.submit(jobs.TrainRequest("coarse", tiny, epochs=2, batch_size=8, device="cpu", name="real-run"))
    run = wait_for_job("real-run", ("finished", "failed"), seconds=180)
    assert run.state == "finished", jobs.tail_log("real-run")
    assert (run.path / "checkpoints" / "best.pt").exists()
    assert "run:real-run" in workspace.checkpoints()
    pred = evalview.checkpoint_predictions("run:real-run", tiny, "test")     # the Evaluate page's source
    assert pred.scores.shape == pred.labels.shape and pred.scores.shape[0] > 0
    assert evalview.report_tables(pred)[1]["metric"].iloc[0] == "F1w"
    embed = jobs.submit(jobs.EmbedRequest(run="real-run", data=tiny, device="cpu"))
    done = wait_for_job(embed.name, ("finished", "failed"), seconds=120)
    assert done.state == "finished", jobs.tail_log(embed.name)
    assert (run.path / "embeddings" / f"{tiny}.npz").exists() and (run.path / "embeddings" / f"{tiny}.parquet").exists()
    emb = workspace.load_set(f"run:real-run/{tiny}")
    assert len(emb) == 24 and emb.generated and emb.metadata["genres"].map(len).sum() > 0
