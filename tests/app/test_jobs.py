"""The job queue: validated commands, queue per device, cancel, resume, real trainer end to end; on the pages,
a broken job with its Remove button, one page of jobs with state and kind filters, and clearing ended jobs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mmx_core import workspace
from mmx_core.appkit import evalview

from mmx_core import jobs
from job_helpers import DROP, wait_for_job, write_job
from mmx_core.jobs import process, queue
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir, runs_dir

FAKE = str(Path(__file__).with_name("fake_trainer.py"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny(tiny_data):
    return tiny_data


@pytest.fixture
def fake(monkeypatch, tiny):
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, FAKE])
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.3")
    return tiny


def test_command_is_a_list_of_known_parameters(tiny):
    request = jobs.TrainRequest("coarse", tiny, epochs=2, batch_size=4, device="cpu", seed=3, name="r1").validate()
    argv = jobs.build_command(request, runs_dir() / "r1")
    assert argv[:3] == [sys.executable, "-m", "mmx_core"]
    assert argv[3:] == ["train", "--stage", "coarse", "--data", str((data_dir() / tiny).resolve()), "--out",
                        str((runs_dir() / "r1").resolve()), "--device", "cpu", "--seed", "3", "--epochs", "2",
                        "--batch-size", "4"]
    recipe = jobs.TrainRequest("fine", tiny, device="cpu", name="r2").validate()     # epochs, batch size unset:
    assert "--epochs" not in jobs.build_command(recipe, runs_dir() / "r2")            # the stage's recipe decides


def test_an_extraction_request_passes_the_media_options_the_command_accepts(tmp_path):
    from mmx_core.cli import build_parser

    (tmp_path / "videos").mkdir()
    request = jobs.ExtractRequest(videos=str(tmp_path / "videos"), dataset="clips", device="cpu",
                                  allow_partial=True, strict=True).validate()
    argv = jobs.build_command(request, tmp_path / "job")[3:]
    args = build_parser().parse_args(argv)
    assert (args.command, args.allow_partial, args.strict, args.untrained) == ("extract", True, True, False)


@pytest.mark.parametrize("changes, message", [
    ({"stage": "medium"}, "stage='medium': must be one of"),
    ({"device": "tpu"}, "device='tpu'"),
    ({"epochs": -1}, r"epochs=-1: must be an integer in \[0, 1000\]"),
    ({"batch_size": "8; rm -rf /"}, "batch_size='8; rm -rf /': must be an integer"),
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


def test_a_job_started_by_one_app_process_is_seen_and_cancelled_by_another(fake):
    """Behind the proxy each worker is its own process: the queue is the files and their lock, not a process."""
    import subprocess

    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=200, device="cpu", name="other-process"))
    pid = wait_for_job("other-process", ("running",)).job["pid"]
    other = subprocess.run([sys.executable, "-c", (
        "from mmx_core import jobs; seen = [j.name for j in jobs.list_jobs() if j.state == 'running']; "
        "jobs.cancel('other-process'); print(seen)")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert other.returncode == 0 and "other-process" in other.stdout, other.stderr
    assert wait_for_job("other-process", ("cancelled",)).alive is False and not process.group_alive(pid)


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


@pytest.fixture
def own_runs(monkeypatch, tmp_path):
    """A runs folder of this test's own, so the page lists only what the test wrote."""
    monkeypatch.setenv("MMX_RUNS_DIR", str(tmp_path / "runs"))
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


def run_page(page: str) -> AppTest:
    return AppTest.from_file(str(ROOT / page), default_timeout=180).run()


@pytest.mark.parametrize("page, kind, fields, reason", [
    ("pages/3_Train.py", "train", {"pid": [1]}, "pid must be a process id"),
    ("pages/5_Data.py", "import", {"started": "yesterday"}, "started must be a time"),
    ("pages/5_Data.py", DROP, {}, "job.json has no kind"),
], ids=["train-pid-list", "data-started-text", "data-no-kind"])
def test_a_broken_job_is_shown_with_its_reason_and_a_remove_button(own_runs, page, kind, fields, reason):
    folder = write_job("broken-job", kind=kind, state="queued", **fields)
    write_job("fine-job", kind="generate" if kind is DROP else kind)
    at = run_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.label == f"broken-job · {'unknown' if kind is DROP else kind} · broken" for e in at.expander)
    assert any(reason in w.value for w in at.warning)
    assert any(e.label.startswith("fine-job") for e in at.expander)
    at.button(key="remove_broken-job").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not folder.exists() and not any(e.label.startswith("broken-job") for e in at.expander)
    assert any(e.label.startswith("fine-job") for e in at.expander)


def test_the_train_page_shows_one_page_newest_first_and_filters(own_runs):
    now = time.time()
    for i in range(300):
        write_job(f"job-{i:03d}", kind="embed" if i % 4 == 0 else "train", state=jobs.ENDED[i % 3],
                  queued=now - 1000 + i)
    at = run_page("pages/3_Train.py")
    assert not at.exception, [e.value for e in at.exception]
    labels = [e.label for e in at.expander]
    assert len(labels) == jobs.PAGE_SIZE and labels[0].startswith("job-299 · train")
    assert [label.split(" · ")[0] for label in labels] == [f"job-{i:03d}" for i in range(299, 279, -1)]
    assert any("of 300 (page 1 of 15)" in c.value for c in at.caption)
    at.number_input(key="jobs_train_page").set_value(15).run()
    assert [e.label.split(" · ")[0] for e in at.expander][-1] == "job-000"
    at.number_input(key="jobs_train_page").set_value(1)
    at.selectbox(key="jobs_train_state").set_value("failed").run()
    assert at.expander and all(" · failed" in e.label for e in at.expander)
    at.selectbox(key="jobs_train_kind").set_value("embed").run()
    assert at.expander and all(" · embed · failed" in e.label for e in at.expander)
    assert any("of 25 (page 1 of 2)" in c.value for c in at.caption)


def test_clear_ended_on_the_train_page_keeps_runs_with_checkpoints(own_runs):
    write_job("failed-empty", state="failed")
    kept = write_job("finished-run")
    (kept / "checkpoints").mkdir()
    (kept / "checkpoints" / "best.pt").write_bytes(b"w")
    at = run_page("pages/3_Train.py")
    at.button(key="jobs_train_clear").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.label.split(" · ")[0] for e in at.expander] == ["finished-run"]
    assert not (own_runs / "failed-empty").exists() and (kept / "checkpoints" / "best.pt").exists()
