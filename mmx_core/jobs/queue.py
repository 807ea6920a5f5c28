"""The one job launcher: submit, dispatch, cancel, resume and list background jobs of every kind.

A job is a folder holding ``job.json`` (kind, validated request, command, supervisor pid and start
time), ``status.json`` (state, progress, message) and ``log.txt``. A training job's folder is its run
folder ``runs/<name>`` (format in docs/interfaces.md); other jobs live in ``runs/.jobs/<name>``.

Each job runs under a small supervisor, ``python -m mmx_core.jobs.supervisor JOB_DIR``, started as its
own process group (``start_new_session=True``), so it outlives the browser tab and a restart of the
app. The supervisor runs the job's command (an argument list built only from the validated request,
never a shell string), records its end, and starts the next queued job. One job at a time per device
(``cpu`` or ``cuda``); :func:`dispatch` (also called by the app) starts queued jobs whose device is free.
Jobs are listed and read by :mod:`mmx_core.jobs.listing`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import PROJECT_ROOT, runs_dir
from mmx_core.jobs import process
from mmx_core.jobs.kinds import JobRequest, TrainRequest, request_from_record
from mmx_core.jobs.listing import find_job, job_alive
from mmx_core.jobs.records import ACTIVE, BROKEN, JobRecord, jobs_dir, read_record, scan

__all__ = ["COMMAND_PREFIX", "RESUMABLE", "jobs_dir", "submit", "dispatch", "cancel", "resume",
           "build_command", "queue_lock", "read_status", "write_status"]

logger = logging.getLogger(__name__)

COMMAND_PREFIX: list[str] = [sys.executable, "-m", "mmx_core"]
"""Command prefix of every job (the tests point it at a fake trainer)."""
RESUMABLE = ("train", "extract", "import")
"""The job kinds :func:`resume` queues again."""


def build_command(request: JobRequest, folder: Path) -> list[str]:
    """The full argument list of a validated request's job."""
    return [*COMMAND_PREFIX, *request.command(folder)]


def read_status(folder: Path) -> dict:
    try:
        status = read_json(folder / "status.json")
    except MMXError:
        return {}
    return status if isinstance(status, dict) else {}


def write_status(folder: Path, state: str, message: str = "", **extra) -> None:
    status = {**read_status(folder), **extra, "state": state, "message": message, "updated": time.time()}
    write_json(folder / "status.json", status)


@contextlib.contextmanager
def queue_lock():
    runs_dir().mkdir(parents=True, exist_ok=True)
    with open(runs_dir() / ".jobs.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def submit(request: JobRequest) -> Path:
    """Validate, create the job folder with status ``queued`` and start it when its device is free.

    The device is checked here: a ``cuda`` job on a machine without a GPU is refused with the reason.
    """
    request = request.validate()
    folder = (runs_dir() if request.kind == "train" else jobs_dir()) / request.name
    with queue_lock():
        if folder.exists() or folder.is_symlink():
            raise MMXError(f"a {request.kind} job called {request.name!r} exists already; choose another name",
                           folder)
        folder.mkdir(parents=True)
        write_json(folder / "job.json", {"kind": request.kind, "request": asdict(request), "device": request.device,
                                         "queued": time.time(), "resume": False})
        extra = {"stage": request.stage, "epochs": request.epochs} if isinstance(request, TrainRequest) else {}
        write_status(folder, "queued", "waiting for the device", progress=0.0, kind=request.kind, **extra)
    dispatch()
    return folder


def _waiting(record: JobRecord) -> bool:
    """A queued job that has not been started since it was (last) queued."""
    job = record.job
    return (not record.problem and record.state == "queued" and not job_alive(job)
            and (job.get("started") or 0) < job.get("queued", 0))


def dispatch() -> list[Path]:
    """Start every queued job whose device has no live job; returns the started job folders.

    Never raises: a job that cannot start (an input gone, a command that cannot be built) is marked
    ``failed`` with the reason and the next one is tried; anything unexpected is logged.
    """
    started = []
    try:
        with queue_lock():
            records = [r for r in scan() if r.job and not r.problem]
            busy = {r.job.get("device") for r in records if job_alive(r.job)}
            for record in sorted((r for r in records if _waiting(r)), key=lambda r: (r.job["queued"], r.name)):
                if record.job.get("device") in busy:
                    continue
                fresh = read_record(record.path)  # the cache may lag a write made by another process
                if fresh is None or not _waiting(fresh) or not _start_or_fail(fresh):
                    continue
                busy.add(fresh.job.get("device"))
                started.append(fresh.path)
    except Exception:  # noqa: BLE001 - the pages and the supervisor call this: log, never raise into them
        logger.exception("dispatching the job queue failed")
    return started


def _start_or_fail(record: JobRecord) -> bool:
    """Start ``record``'s job; when it cannot start, record why on the job (state failed) and return False."""
    try:
        _start(record.path, dict(record.job))
        return True
    except MMXError as exc:
        reason = f"not started: {exc.message}"
        logger.info("job %s %s", record.name, reason)
    except Exception as exc:  # noqa: BLE001 - unexpected: logged, and recorded on this job only
        logger.exception("job %s could not start", record.name)
        reason = f"not started: {type(exc).__name__}: {exc}"
    try:
        job = dict(record.job, ended=time.time(), pid=None, pid_started=None)
        write_json(record.path / "job.json", job)
        write_status(record.path, "failed", reason[:300].replace("\n", " "))
    except Exception:  # noqa: BLE001
        logger.exception("job %s: could not record that it failed to start", record.name)
    return False


def _start(folder: Path, job: dict) -> None:
    request = request_from_record(job).checked()
    request.check_inputs()
    argv = build_command(request, folder)
    if job.get("resume"):
        argv.append("--resume")
    supervisor = [sys.executable, "-m", "mmx_core.jobs.supervisor", str(folder)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if request.kind != "train":  # the trainer writes its own status; other commands report through progress()
        env["MMX_JOB_STATUS"] = str(folder / "status.json")
    # The supervisor reads argv from job.json, so it is written before the spawn; until the pid is
    # recorded beside it the job reads as starting (no pid), never as a process that is gone.
    job.update({"argv": argv, "started": time.time(), "ended": None, "pid": None, "pid_started": None})
    write_json(folder / "job.json", job)
    pid, ticks = process.spawn(supervisor, PROJECT_ROOT, folder / "log.txt", env)
    job.update({"pid": pid, "pid_started": ticks})
    write_json(folder / "job.json", job)
    write_status(folder, "queued", "starting", pid=pid)


def cancel(name: str) -> None:
    """Stop a queued or running job: SIGTERM to its process group, status ``cancelled``.

    Only the process group this launcher started is signalled (pid and start time must match)."""
    info = find_job(name)
    if info.state not in ACTIVE:
        raise MMXError(f"job {name!r} is {info.state}; only queued or running jobs can be cancelled")
    if info.job.get("pid") and info.alive:
        process.stop_group(info.job["pid"], info.job.get("pid_started"))
    write_status(info.path, "cancelled", "cancelled by the user")
    dispatch()


def resume(name: str) -> None:
    """Queue a stopped job again with ``--resume`` (training continues from its last checkpoint)."""
    info = find_job(name)
    if info.state in ACTIVE or info.state == BROKEN:
        raise MMXError(f"job {name!r} is {info.state}; " + ("cancel it before resuming" if info.state in ACTIVE
                                                           else "it cannot be resumed"))
    if info.kind not in RESUMABLE:
        raise MMXError(f"a {info.kind} job cannot be resumed; start it again")
    if not info.job:
        raise MMXError(f"run {name!r} was not started by the job queue; resume it with the CLI's --resume")
    if info.kind == "train" and not (info.path / "checkpoints" / "last.pt").is_file():
        raise MMXError(f"run {name!r} has no checkpoint to resume from", info.path / "checkpoints" / "last.pt")
    with queue_lock():
        job = dict(info.job, resume=True, queued=time.time(), pid=None, pid_started=None)
        write_json(info.path / "job.json", job)
        write_status(info.path, "queued", "waiting for the device (resume)")
    dispatch()
