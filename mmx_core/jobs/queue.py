"""The one job launcher: submit, dispatch, cancel, resume and list background jobs of every kind.

A job is a folder holding ``job.json`` (kind, validated request, command, supervisor pid and start
time), ``status.json`` (state, progress, message) and ``log.txt``. A training job's folder is its run
folder ``runs/<name>`` (format in docs/interfaces.md); other jobs live in ``runs/.jobs/<name>``.

Each job runs under a small supervisor, ``python -m mmx_core.jobs.supervisor JOB_DIR``, started as its
own process group (``start_new_session=True``), so it outlives the browser tab and a restart of the
app. The supervisor runs the job's command (an argument list built only from the validated request,
never a shell string), records its end, and starts the next queued job. One job at a time per device
(``cpu`` or ``cuda``); :func:`dispatch` (also called by the app) starts queued jobs whose device is free.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import PROJECT_ROOT, runs_dir
from mmx_core.jobs import process
from mmx_core.jobs.checks import NAME_PATTERN
from mmx_core.jobs.kinds import JobRequest, TrainRequest, request_from_record

__all__ = ["COMMAND_PREFIX", "ACTIVE", "JobInfo", "jobs_dir", "job_dir", "submit", "dispatch", "cancel", "resume",
           "list_jobs", "find_job", "read_events", "tail_log", "build_command"]

COMMAND_PREFIX: list[str] = [sys.executable, "-m", "mmx_core"]
"""Command prefix of every job (the tests point it at a fake trainer)."""

ACTIVE = ("queued", "running")
ENDED = ("finished", "failed", "cancelled")


def jobs_dir() -> Path:
    """Folders of the jobs other than training (``runs/.jobs``)."""
    return runs_dir() / ".jobs"


def job_dir(request: JobRequest) -> Path:
    """Where the job of a validated request keeps its files."""
    return (runs_dir() if request.kind == "train" else jobs_dir()) / request.name


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
    status = read_status(folder)
    status.update(extra)
    status.update({"state": state, "message": message, "updated": time.time()})
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
    request = request.validated()
    folder = job_dir(request)
    if folder.exists():
        raise MMXError(f"a {request.kind} job called {request.name!r} exists already; choose another name", folder)
    folder.mkdir(parents=True)
    write_json(folder / "job.json", {"kind": request.kind, "request": asdict(request), "device": request.device,
                                     "queued": time.time(), "resume": False})
    extra = {"stage": request.stage, "epochs": request.epochs} if isinstance(request, TrainRequest) else {}
    write_status(folder, "queued", "waiting for the device", progress=0.0, kind=request.kind, **extra)
    dispatch()
    return folder


def _job_folders() -> list[Path]:
    found = []
    for root in (runs_dir(), jobs_dir()):
        if root.is_dir():
            found += [p for p in sorted(root.iterdir()) if p.is_dir() and NAME_PATTERN.match(p.name)
                      and ((p / "job.json").exists() or (p / "status.json").exists())]
    return found


def _read_job(folder: Path) -> dict | None:
    """``job.json`` of a folder; None when it is malformed (the job is shown as broken, the queue goes on)."""
    if not (folder / "job.json").exists():
        return {}
    try:
        job = read_json(folder / "job.json")
        if not isinstance(job, dict) or not isinstance(job.get("queued", 0), (int, float)):
            return None
        request_from_record(job)
        return job
    except (MMXError, TypeError, ValueError):
        return None


def _job_alive(job: dict) -> bool:
    return process.alive(job.get("pid"), job.get("pid_started"))


def dispatch() -> list[Path]:
    """Start every queued job whose device has no live job; returns the started job folders."""
    started = []
    with queue_lock():
        jobs = {p: j for p in _job_folders() if (j := _read_job(p))}
        busy = {j.get("device") for j in jobs.values() if j.get("pid") and not j.get("ended") and _job_alive(j)}
        waiting = sorted((j["queued"], str(p), p) for p, j in jobs.items()
                         if read_status(p).get("state") == "queued" and not (j.get("pid") and _job_alive(j))
                         and j.get("started", 0) < j["queued"])
        for _, _, folder in waiting:
            job = jobs[folder]
            if job.get("device") in busy:
                continue
            _start(folder, job)
            busy.add(job.get("device"))
            started.append(folder)
    return started


def _start(folder: Path, job: dict) -> None:
    request = request_from_record(job)
    argv = build_command(request, folder)
    if job.get("resume"):
        argv.append("--resume")
    supervisor = [sys.executable, "-m", "mmx_core.jobs.supervisor", str(folder)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if request.kind != "train":  # the trainer writes its own status; other commands report through progress()
        env["MMX_JOB_STATUS"] = str(folder / "status.json")
    job.update({"argv": argv, "started": time.time(), "ended": None})
    write_json(folder / "job.json", job)
    pid, ticks = process.spawn(supervisor, PROJECT_ROOT, folder / "log.txt", env)
    job.update({"pid": pid, "pid_started": ticks})
    write_json(folder / "job.json", job)
    write_status(folder, "queued", "starting", pid=pid)


@dataclass
class JobInfo:
    """A job folder as the pages show it."""

    name: str
    kind: str
    path: Path
    status: dict
    job: dict
    alive: bool

    @property
    def state(self) -> str:
        return self.status.get("state", "unknown")

    @property
    def progress(self) -> float:
        value = self.status.get("progress") or 0.0
        return float(min(1.0, max(0.0, value))) if isinstance(value, (int, float)) else 0.0

    @property
    def request(self) -> JobRequest | None:
        return request_from_record(self.job) if self.job else None


def _info(folder: Path) -> JobInfo:
    job = _read_job(folder)
    if job is None:
        return JobInfo(folder.name, "unknown", folder, {"state": "broken", "message": "job.json is malformed"}, {},
                       False)
    status = read_status(folder)
    live = _job_alive(job)
    if status.get("state") in ACTIVE and job.get("started") and not live and not job.get("ended") \
            and job.get("started", 0) >= job.get("queued", 0):
        status = dict(status, state="failed", message="the process is gone; see log.txt")
    return JobInfo(folder.name, job.get("kind", "train"), folder, status, job, live)


def list_jobs(kind: str | None = None) -> list[JobInfo]:
    """Every job (of ``kind``, if given), newest first; malformed ones appear with state ``broken``."""
    jobs = [_info(p) for p in _job_folders()]
    if kind is not None:
        jobs = [j for j in jobs if j.kind == kind]
    return sorted(jobs, key=lambda j: j.job.get("queued") or j.path.stat().st_mtime, reverse=True)


def find_job(name: str) -> JobInfo:
    """The job called ``name`` (a training run or another job)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise MMXError(f"job name {name!r} is not allowed")
    for root in (runs_dir(), jobs_dir()):
        if (root / name / "job.json").exists() or (root / name / "status.json").exists():
            return _info(root / name)
    raise MMXError(f"no job called {name!r}", runs_dir())


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
    if info.state in ACTIVE or info.state == "broken":
        raise MMXError(f"job {name!r} is {info.state}; " + ("cancel it before resuming" if info.state in ACTIVE
                                                           else "it cannot be resumed"))
    if info.kind not in ("train", "extract", "import"):
        raise MMXError(f"a {info.kind} job cannot be resumed; start it again")
    if info.kind == "train" and not (info.path / "checkpoints" / "last.pt").is_file():
        raise MMXError(f"run {name!r} has no checkpoint to resume from", info.path / "checkpoints" / "last.pt")
    job = dict(info.job, resume=True, queued=time.time(), pid=None, pid_started=None)
    write_json(info.path / "job.json", job)
    write_status(info.path, "queued", "waiting for the device (resume)")
    dispatch()


def read_events(name: str) -> pd.DataFrame:
    """``events.jsonl`` of a training run as a table (malformed lines skipped)."""
    path = find_job(name).path / "events.jsonl"
    if not path.exists():
        return pd.DataFrame()
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            event = json.loads(line)
            if isinstance(event, dict):
                for metric, value in (event.pop("val", None) or {}).items():
                    event[metric if metric.startswith("val_") else f"val_{metric}"] = value
                rows.append(event)
    return pd.DataFrame(rows)


def tail_log(name: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a job's log.txt."""
    path = find_job(name).path / "log.txt"
    if not path.exists():
        return ""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 64_000))
        return "\n".join(handle.read().decode(errors="replace").splitlines()[-lines:])
