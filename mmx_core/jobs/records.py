"""A job folder's files read through one schema, and the folders of every job, listed cheaply.

:func:`read_record` turns a folder's ``job.json`` and ``status.json`` into a :class:`JobRecord` whose
fields all have their documented types, or into a *broken* record holding a one-line reason: nothing
read from a job file reaches the queue unchecked, so one malformed file can never stop the others.

:func:`scan` lists the job folders of the runs folder and of ``runs/.jobs`` with ``os.scandir`` and
reads a folder's files again only when the folder's modification time has changed (every writer
replaces these files by renaming a temporary file, which changes it) or is too recent to trust.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmx_core.base.artefacts import read_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import runs_dir
from mmx_core.jobs.checks import NAME_PATTERN
from mmx_core.jobs.kinds import KINDS, request_from_record

__all__ = ["STATES", "ACTIVE", "ENDED", "BROKEN", "JobRecord", "jobs_dir", "job_roots", "read_record", "scan",
           "clear_cache"]

STATES = ("queued", "running", "finished", "failed", "cancelled")
"""The states a ``status.json`` may hold."""
ACTIVE = STATES[:2]
ENDED = STATES[2:]
BROKEN = "broken"
"""The state of a job whose files do not follow the schema (listed with the reason, removable)."""

MAX_FILE_BYTES = 1_000_000
"""A job file larger than this is not read (the job is broken)."""
RECENT_S = 2.0
"""A folder changed less than this long ago is read again on every scan (file times are coarse)."""

_NUMBER = (int, float)
_TIME, _INT = (_NUMBER, "a time in seconds since the epoch"), (int, "an integer")
_PID = (int, "a process id (an integer > 0)")
# job.json fields besides kind and request: name -> (types allowed, besides None; what the value must be)
_JOB_FIELDS = {"queued": _TIME, "started": _TIME, "ended": _TIME, "pid": _PID,
               "pid_started": (int, "a process start time in clock ticks (an integer >= 0)"), "exit_code": _INT,
               "device": (str, "a device name"), "resume": (bool, "true or false"), "argv": (list, "a list of strings")}
_STATUS_FIELDS = {"progress": (_NUMBER, "a number from 0 to 1"), "message": (str, "a string"), "epoch": _INT,
                  "epochs": _INT, "eta_s": (_NUMBER, "a number of seconds"),
                  "updated": ((int, float, str), "a time (seconds since the epoch, or ISO date-time text)"),
                  "pid": _PID}


def jobs_dir() -> Path:
    """Folders of the jobs other than training (``runs/.jobs``)."""
    return runs_dir() / ".jobs"


def job_roots() -> tuple[Path, Path]:
    """The folders holding job folders: the runs folder (training runs) and ``runs/.jobs`` (the others)."""
    return runs_dir(), jobs_dir()


@dataclass(frozen=True)
class JobRecord:
    """One job folder's files, checked.

    Attributes
    ----------
    path : Path
        The job folder.
    kind : str
        One of :data:`mmx_core.jobs.kinds.KINDS` (``"train"`` for a run folder written by the CLI).
    job : dict
        ``job.json`` (empty for a run folder written by the CLI, or when broken).
    status : dict
        ``status.json``; for a broken record ``{"state": "broken", "message": problem}``.
    problem : str
        Why the files do not follow the schema, in one line; empty when they do.
    changed : float
        The folder's modification time (sorts jobs without a queue time).
    name : str
        The folder's name.
    state : str
        The recorded state (``broken`` when the files are malformed).
    newest : float
        The key of "newest first": when the job was (last) queued, else ``changed``.
    """

    path: Path
    kind: str
    job: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    problem: str = ""
    changed: float = 0.0
    name: str = field(init=False)
    state: str = field(init=False)
    newest: float = field(init=False)

    def __post_init__(self) -> None:
        # plain fields, not properties: a listing sorts and filters thousands of records
        object.__setattr__(self, "name", self.path.name)
        object.__setattr__(self, "state", BROKEN if self.problem else self.status.get("state", "unknown"))
        object.__setattr__(self, "newest", self.job.get("queued") or self.changed)


def _check_fields(record: dict, spec: dict, file: str) -> None:
    for key, (types, what) in spec.items():
        value = record.get(key)
        if value is None:
            continue
        wrong = not isinstance(value, types) or (isinstance(value, bool) and types is not bool)
        wrong = wrong or (isinstance(value, float) and not math.isfinite(value))
        wrong = wrong or (key == "pid" and value <= 0) or (key == "pid_started" and value < 0)
        wrong = wrong or (key == "argv" and not all(isinstance(a, str) for a in value))
        wrong = wrong or (key in ("queued", "started", "ended") and value < 0)
        if wrong:
            raise MMXError(f"{file}: {key} must be {what}, got {value!r}"[:200])


def _checked_job(folder: Path, job: object) -> dict:
    if not isinstance(job, dict):
        raise MMXError(f"job.json must hold an object, got {type(job).__name__}")
    if "kind" not in job:
        raise MMXError("job.json has no kind")
    if not isinstance(job["kind"], str) or job["kind"] not in KINDS:
        raise MMXError(f"job.json: kind {str(job['kind'])[:40]!r} is not one of {tuple(KINDS)}")
    if not isinstance(job.get("request"), dict):
        raise MMXError("job.json: request must be an object")
    if job.get("queued") is None:  # the one field a job.json must have; its type is checked with the others
        raise MMXError(f"job.json: queued must be {_TIME[1]}, got None")
    _check_fields(job, _JOB_FIELDS, "job.json")
    try:
        request = request_from_record(job).checked()
    except (MMXError, TypeError) as exc:
        raise MMXError(f"job.json: request {exc}"[:200]) from None
    if request.name != folder.name:
        raise MMXError(f"job.json: request name {request.name[:64]!r} is not the folder's name")
    if (job["kind"] == "train") != (folder.parent != jobs_dir()):
        raise MMXError(f"job.json: a {job['kind']} job cannot live in {folder.parent}")
    return job


def _checked_status(status: object) -> dict:
    if not isinstance(status, dict):
        raise MMXError(f"status.json must hold an object, got {type(status).__name__}")
    if status.get("state") not in STATES:
        raise MMXError(f"status.json: state {str(status.get('state'))[:40]!r} is not one of {STATES}")
    _check_fields(status, _STATUS_FIELDS, "status.json")
    return status


def read_record(folder: Path) -> JobRecord | None:
    """The job in ``folder`` (fields checked), a broken record with the reason, or None when the folder
    holds neither ``job.json`` nor ``status.json`` (it is not a job folder).

    Parameters
    ----------
    folder : Path
        A folder of the runs folder or of ``runs/.jobs``.

    Returns
    -------
    JobRecord or None
        A record whose ``problem`` is empty when both files follow the schema (docs/interfaces.md).
    """
    has_job, has_status = (folder / "job.json").is_file(), (folder / "status.json").is_file()
    if not (has_job or has_status):
        return None
    try:
        changed = folder.stat().st_mtime
    except OSError:
        return None
    kind = "train" if folder.parent != jobs_dir() else "unknown"
    try:
        for name in ("job.json", "status.json"):
            if (folder / name).is_symlink():
                raise MMXError(f"{name} is a symbolic link; job files are never followed out of their folder")
            if (folder / name).is_file() and (folder / name).stat().st_size > MAX_FILE_BYTES:
                raise MMXError(f"{name} is larger than {MAX_FILE_BYTES:,} bytes")
        raw = read_json(folder / "job.json") if has_job else {}
        if isinstance(raw, dict) and isinstance(raw.get("kind"), str) and raw["kind"] in KINDS:
            kind = raw["kind"]  # kept for a broken record too, so the page listing that kind shows it
        job = _checked_job(folder, raw) if has_job else {}
        if not has_job and folder.parent == jobs_dir():
            raise MMXError("job.json is missing")
        if not has_status:
            raise MMXError("status.json is missing")
        status = _checked_status(read_json(folder / "status.json"))
    except (MMXError, OSError) as exc:
        reason = str(exc).replace(str(folder) + "/", "").replace("\n", " ")[:240]
    except (RecursionError, ValueError, TypeError) as exc:  # e.g. JSON nested too deep to read
        reason = f"job files unreadable ({type(exc).__name__})"
    else:
        return JobRecord(folder, kind, job, status, "", changed)
    return JobRecord(folder, kind, {}, {"state": BROKEN, "message": reason}, reason, changed)


_CACHE: dict[str, dict[str, tuple[int, JobRecord | None]]] = {}  # root -> folder name -> (mtime_ns, record)
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached record: the next :func:`scan` reads every job folder (as a new process does)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def scan() -> list[JobRecord]:
    """Every job folder's record (unsorted), reading only the folders changed since the last scan.

    Folders are found with ``os.scandir`` (symbolic links are not followed); a folder's files are read
    again when its modification time differs from the cached one or lies within :data:`RECENT_S` of now.
    """
    recent = time.time_ns() - int(RECENT_S * 1e9)
    match, found = NAME_PATTERN.match, []
    for root in job_roots():
        with _CACHE_LOCK:
            old = _CACHE.get(str(root), {})
        new: dict[str, tuple[int, JobRecord | None]] = {}
        try:
            entries = os.scandir(root)
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not match(entry.name):
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                    mtime = entry.stat(follow_symlinks=False).st_mtime_ns
                except OSError:
                    continue
                cached = old.get(entry.name)
                if cached is not None and cached[0] == mtime and mtime < recent:
                    record = cached[1]
                else:
                    record = read_record(Path(entry.path))
                new[entry.name] = (mtime, record)
                if record is not None:
                    found.append(record)
        with _CACHE_LOCK:
            _CACHE[str(root)] = new
    return found
