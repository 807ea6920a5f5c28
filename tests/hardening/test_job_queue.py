"""No one job can stop the queue (issue 17, cases 3 and 10): malformed job files are listed as broken and
removable, a queued job whose inputs vanished fails with the reason while the next one runs, dispatch never
raises, the list is paged and filtered, and clearing ended jobs keeps every run that holds results."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmx_core import jobs
from job_helpers import DROP, wait_for_job, write_job
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir, runs_dir
from mmx_core.jobs import process, queue

FAKE = str(Path(__file__).parents[1] / "app" / "fake_trainer.py")


@pytest.fixture
def own_runs(monkeypatch, tmp_path):
    """A runs folder of this test's own (the listing then holds only what the test wrote)."""
    monkeypatch.setenv("MMX_RUNS_DIR", str(tmp_path / "runs"))
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


@pytest.fixture
def fake(monkeypatch, tiny_data, own_runs):
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, FAKE])
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.2")
    return tiny_data


MALFORMED = [
    ({"pid": [1], "started": time.time()}, "pid must be a process id"),
    ({"started": "yesterday"}, "started must be a time"),
    ({"kind": DROP}, "job.json has no kind"),
    ({"request": {"stage": "medium"}}, "stage='medium': must be one of"),
    ({"request": {"epochs": "ten"}}, "epochs='ten': must be of type int"),
    ({"queued": None}, "queued must be a time"),
]


@pytest.mark.parametrize("fields, reason", MALFORMED, ids=["pid-list", "started-text", "no-kind", "bad-stage",
                                                           "epochs-text", "no-queued"])
def test_a_malformed_job_is_listed_broken_removable_and_the_next_job_runs(fake, fields, reason):
    broken = write_job("bad-job", state="queued", **fields)
    assert jobs.dispatch() == []                                 # no exception, nothing to start
    listed = {j.name: j for j in jobs.list_jobs()}
    assert listed["bad-job"].state == "broken" and reason in listed["bad-job"].problem
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=2, device="cpu", name="after-bad"))
    assert wait_for_job("after-bad", ("finished",)).progress == 1.0
    assert jobs.remove("bad-job") == "removed"
    assert not broken.exists() and "bad-job" not in {j.name for j in jobs.list_jobs()}
    assert (runs_dir() / "after-bad").is_dir()                   # only that folder went


def test_malformed_status_and_hostile_job_files_are_broken_too(own_runs, tmp_path):
    write_job("bad-status", status={"state": "exploded"})
    write_job("bad-progress", status={"progress": "half"})
    (write_job("not-json") / "status.json").write_text("{")
    (write_job("deep") / "job.json").write_text("[" * 100_000 + "]" * 100_000)
    write_job("list-kind", kind=[1])
    (tmp_path / "secret.json").write_text("{}")
    (write_job("linked-file") / "job.json").unlink()
    (runs_dir() / "linked-file" / "job.json").symlink_to(tmp_path / "secret.json")
    states = {j.name: (j.state, j.problem) for j in jobs.list_jobs()}
    assert states["deep"][0] == "broken"
    assert states["list-kind"] == ("broken", "job.json: kind '[1]' is not one of ('train', 'embed', 'import', "
                                             "'generate', 'probe', 'precompute', 'extract')")
    assert states["linked-file"] == ("broken", "job.json is a symbolic link; job files are never followed out of "
                                               "their folder")
    assert states["bad-status"] == ("broken", "status.json: state 'exploded' is not one of "
                                              "('queued', 'running', 'finished', 'failed', 'cancelled')")
    assert states["bad-progress"][0] == "broken" and "progress must be a number" in states["bad-progress"][1]
    assert states["not-json"][0] == "broken" and "not valid JSON" in states["not-json"][1]


def _blocker(fake: str) -> None:
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=4, device="cpu", name="blocker"))
    wait_for_job("blocker", ("running",))


@pytest.mark.parametrize("lost", ["data set", "init checkpoint", "video folder"])
def test_a_queued_job_whose_input_vanished_fails_with_the_reason_and_the_next_runs(fake, tmp_path, lost):
    doomed = tmp_path / "doomed"
    if lost == "data set":
        shutil.copytree(data_dir() / fake, data_dir() / "doomed-set")
        doomed = data_dir() / "doomed-set"
        request = jobs.TrainRequest("coarse", "doomed-set", epochs=1, device="cpu", name="victim")
    elif lost == "init checkpoint":
        (doomed := runs_dir() / "seed-run" / "checkpoints").mkdir(parents=True)
        (doomed / "best.pt").write_bytes(b"weights")
        request = jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", init=str(doomed / "best.pt"),
                                    name="victim")
    else:
        doomed.mkdir()
        request = jobs.ExtractRequest(videos=str(doomed), dataset="from-doomed", device="cpu", name="victim")
    _blocker(fake)
    jobs.submit(request)
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", name="next-in-line"))
    assert jobs.find_job("victim").state == "queued"
    shutil.rmtree(doomed)
    assert wait_for_job("next-in-line", ("finished",)).progress == 1.0   # started by the blocker's supervisor
    victim = jobs.find_job("victim")
    assert victim.state == "failed" and victim.status["message"].startswith("not started: ")
    assert {"data set": "doomed-set", "init checkpoint": "best.pt", "video folder": "doomed"}[lost] \
        in victim.status["message"]
    jobs.remove("victim")


def test_a_job_being_started_reads_as_starting_and_one_whose_process_is_gone_as_failed(fake, monkeypatch):
    # Whoever lists the jobs while a supervisor is being spawned (a page, a test, another dispatcher)
    # sees the job as starting: job.json holds its command and start time but no pid yet.
    seen = []
    real_spawn = process.spawn

    def spawn_and_look(*args, **kwargs):
        seen.append(jobs.find_job("starting").state)
        return real_spawn(*args, **kwargs)

    monkeypatch.setattr(process, "spawn", spawn_and_look)
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", name="starting"))
    assert seen == ["queued"]
    assert wait_for_job("starting", ("finished",)).state == "finished"

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    ticks = process.start_ticks(gone.pid)
    gone.wait()
    write_job("vanished", state="running", queued=time.time() - 5, started=time.time(), pid=gone.pid,
              pid_started=ticks)
    vanished = jobs.find_job("vanished")
    assert vanished.state == "failed" and "process is gone" in vanished.status["message"]


def test_dispatch_never_raises_and_records_the_failure_on_the_job(fake, monkeypatch, caplog):
    write_job("bad-started", state="queued", started="yesterday")

    def no_spawn(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(process, "spawn", no_spawn)
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", name="cannot-spawn"))
    failed = jobs.find_job("cannot-spawn")
    assert failed.state == "failed" and "OSError: no more processes" in failed.status["message"]
    assert "could not start" in caplog.text                      # unexpected: logged

    def no_scan():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(queue, "scan", no_scan)
    with caplog.at_level(logging.ERROR):
        assert jobs.dispatch() == []
    assert "dispatching the job queue failed" in caplog.text


def test_the_supervisor_starts_the_next_job_when_its_own_job_file_is_ruined(fake):
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=3, device="cpu", name="ruined"))
    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=1, device="cpu", name="after-ruined"))
    wait_for_job("ruined", ("running",))
    (runs_dir() / "ruined" / "job.json").write_text("[1]")
    assert wait_for_job("after-ruined", ("finished",)).progress == 1.0
    assert jobs.find_job("ruined").state == "broken"


def test_remove_keeps_results_and_refuses_links_and_live_jobs(fake, tmp_path):
    with_results = write_job("broken-with-checkpoints", pid=[1])
    (with_results / "checkpoints").mkdir()
    (with_results / "checkpoints" / "last.pt").write_bytes(b"weights")
    assert jobs.remove("broken-with-checkpoints") == "forgotten"
    assert (with_results / "checkpoints" / "last.pt").read_bytes() == b"weights"
    assert not (with_results / "job.json").exists() and "broken-with-checkpoints" not in \
        {j.name for j in jobs.list_jobs()}

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "job.json").write_text("{")
    (outside / "status.json").write_text("{}")
    os.symlink(outside, runs_dir() / "linked")
    assert "linked" not in {j.name for j in jobs.list_jobs()}    # a link is never followed
    with pytest.raises(MMXError, match="no job called 'linked'"):
        jobs.remove("linked")
    assert (outside / "job.json").exists()

    jobs.submit(jobs.TrainRequest("coarse", fake, epochs=100, device="cpu", name="live"))
    wait_for_job("live", ("running",))
    with pytest.raises(MMXError, match="cancel it before removing it"):
        jobs.remove("live")
    (runs_dir() / "live" / "job.json").write_text(json.dumps(
        dict(json.loads((runs_dir() / "live" / "job.json").read_text()), started="yesterday")))
    with pytest.raises(MMXError, match="still has a live process"):
        jobs.remove("live")                                      # broken now, but its process runs
    assert (runs_dir() / "live").is_dir()
    pid = json.loads((runs_dir() / "live" / "job.json").read_text())["pid"]
    process.stop_group(pid, None, grace=2.0)


def test_clear_ended_removes_only_folders_without_results(own_runs):
    write_job("embed-done", kind="embed")
    write_job("train-failed", state="failed")
    (write_job("train-cancelled-ckpt", state="cancelled") / "checkpoints").mkdir()
    (runs_dir() / "train-cancelled-ckpt" / "checkpoints" / "last.pt").write_bytes(b"w")
    (write_job("train-finished", state="finished") / "checkpoints").mkdir()
    (runs_dir() / "train-finished" / "checkpoints" / "best.pt").write_bytes(b"w")
    (write_job("train-notes", state="failed") / "notes.txt").write_text("why it failed")
    write_job("train-queued", state="queued")
    write_job("train-broken", pid="many")
    write_job("import-done", kind="import")
    removed = jobs.clear_ended(("train", "embed"))
    assert sorted(removed) == ["embed-done", "train-failed"]
    left = {j.name for j in jobs.list_jobs()}
    assert left == {"train-cancelled-ckpt", "train-finished", "train-notes", "train-queued", "train-broken",
                    "import-done"}
    assert (runs_dir() / "train-finished" / "checkpoints" / "best.pt").exists()


def test_the_list_is_paged_newest_first_and_filtered(own_runs):
    now = time.time()
    for i in range(300):
        write_job(f"job-{i:03d}", kind="embed" if i % 4 == 0 else "train", state=jobs.ENDED[i % 3],
                  queued=now - 1000 + i)
    first = jobs.page_jobs(("train", "embed"))
    assert first.total == 300 and first.pages == 15 and len(first.jobs) == jobs.PAGE_SIZE
    assert [j.name for j in first.jobs] == [f"job-{i:03d}" for i in range(299, 279, -1)]
    last = jobs.page_jobs(("train", "embed"), page=99)           # clamped to the last page
    assert last.page == 14 and [j.name for j in last.jobs][-1] == "job-000"
    embeds = jobs.page_jobs(("embed",), page=0)
    assert embeds.total == 75 and all(j.kind == "embed" for j in embeds.jobs)
    failed = jobs.page_jobs(("train", "embed"), ("failed",))
    assert failed.total == 100
    assert all(j.state == "failed" for j in failed.jobs)
    assert failed.counts["finished"] + failed.counts["failed"] + failed.counts["cancelled"] == 300
    with pytest.raises(MMXError, match="page size must be a positive integer"):
        jobs.page_jobs(size=0)


def test_the_listing_reads_only_changed_folders(own_runs, monkeypatch):
    for i in range(30):
        write_job(f"cached-{i}", queued=time.time() - 100)
    old = time.time() - 60
    for folder in own_runs.iterdir():
        os.utime(folder, (old, old))                             # older than the window of folders read every time
    jobs.list_jobs()
    from mmx_core.jobs import records

    reads = []
    real = records.read_record
    monkeypatch.setattr(records, "read_record", lambda folder: reads.append(folder.name) or real(folder))
    assert len(jobs.page_jobs(("train",), size=5).jobs) == 5
    assert reads == []                                           # nothing changed: no folder read by the scan
    (own_runs / "cached-3" / "status.json").unlink()
    (own_runs / "cached-3" / "status.json").write_text(json.dumps({"state": "failed"}))
    jobs.list_jobs()
    assert reads == ["cached-3"]                                 # only the folder that changed
