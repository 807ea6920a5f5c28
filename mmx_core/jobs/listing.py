"""Jobs as the pages show them: the list, a page of it, one job, its training events and its log.

A job's shown state is its recorded one, except that an active job whose supervisor was started (a pid
recorded) and is gone reads as failed; a started job with no pid yet reads as starting.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mmx_core.base.errors import MMXError
from mmx_core.base.paths import runs_dir
from mmx_core.jobs import process
from mmx_core.jobs.checks import NAME_PATTERN
from mmx_core.jobs.kinds import JobRequest, request_from_record
from mmx_core.jobs.records import ACTIVE, BROKEN, STATES, JobRecord, job_roots, read_record, scan

__all__ = ["PAGE_SIZE", "JobInfo", "JobPage", "job_alive", "list_jobs", "page_jobs", "find_job", "read_events",
           "tail_log"]

PAGE_SIZE = 20
"""Jobs on one page of a job list."""


def job_alive(job: dict) -> bool:
    """Whether the job's supervisor, the process this launcher started, still runs."""
    return bool(job.get("pid")) and not job.get("ended") and process.alive(job.get("pid"), job.get("pid_started"))


@dataclass
class JobInfo:
    """A job folder as the pages show it: ``state`` as shown (:func:`_state`); ``problem`` says why a ``broken``
    one is malformed."""

    name: str
    kind: str
    path: Path
    status: dict
    job: dict
    alive: bool
    state: str
    problem: str = ""

    @property
    def progress(self) -> float:
        value = self.status.get("progress") or 0.0
        return float(min(1.0, max(0.0, value))) if isinstance(value, (int, float)) else 0.0

    @property
    def request(self) -> JobRequest | None:
        return request_from_record(self.job) if self.job else None


def _state(record: JobRecord) -> tuple[str, bool]:
    """The job's state as shown (an active job whose process is gone has failed) and whether it runs."""
    if record.problem:
        return BROKEN, False
    job, state = record.job, record.state
    if state not in ACTIVE:
        return state, False
    live = job_alive(job)
    spawned = job.get("started") and job.get("pid") and job["started"] >= job.get("queued", 0)
    if spawned and not live and not job.get("ended"):
        return "failed", False
    return state, live


def _info(record: JobRecord) -> JobInfo:
    state, live = _state(record)
    status = record.status
    if state != record.state:
        status = dict(status, state=state, message="the process is gone; see log.txt")
    return JobInfo(record.name, record.kind, record.path, status, record.job, live, state, record.problem)


def _newest_first(records: list[JobRecord]) -> list[JobRecord]:
    return sorted(records, key=lambda r: (r.newest, r.name), reverse=True)


def list_jobs(kind: str | None = None) -> list[JobInfo]:
    """Every job (of ``kind``, if given), newest first; malformed ones appear with state ``broken``."""
    records = [r for r in scan() if kind is None or r.kind == kind]
    return [_info(r) for r in _newest_first(records)]


@dataclass
class JobPage:
    """One page of a job list.

    Attributes
    ----------
    jobs : list of JobInfo
        This page's jobs, newest first, read afresh.
    total : int
        Jobs matching the filter.
    page, pages : int
        This page's number (from 0) and how many pages the filter gives (at least 1).
    counts : dict of str to int
        Jobs of the kinds asked for, per state (before the state filter).
    """

    jobs: list[JobInfo]
    total: int
    page: int
    pages: int
    counts: dict[str, int]


def page_jobs(kinds: tuple[str, ...] | None = None, states: tuple[str, ...] | None = None, page: int = 0,
              size: int = PAGE_SIZE) -> JobPage:
    """Page ``page`` of the jobs of ``kinds`` in ``states`` (None: all), newest first.

    Broken jobs whose kind cannot be read are in every kind's list. Only the page's job files are read
    (the others come from :func:`mmx_core.jobs.records.scan`'s cache).
    """
    if not isinstance(size, int) or size < 1:
        raise MMXError(f"page size must be a positive integer, got {size!r}")
    shown = [(_state(r)[0], r) for r in scan() if kinds is None or r.kind in kinds or r.kind == "unknown"]
    counts = dict.fromkeys((*STATES, BROKEN), 0)
    counts.update(Counter(state for state, _ in shown))
    chosen = _newest_first([r for state, r in shown if states is None or state in states])
    pages = max(1, math.ceil(len(chosen) / size))
    page = min(max(0, int(page)), pages - 1)
    fresh = [read_record(r.path) for r in chosen[page * size:(page + 1) * size]]
    return JobPage([_info(r) for r in fresh if r is not None], len(chosen), page, pages, counts)


def find_job(name: str) -> JobInfo:
    """The job called ``name`` (a training run or another job), read afresh."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise MMXError(f"job name {name!r} is not allowed")
    for root in job_roots():
        if (root / name).is_dir() and not (root / name).is_symlink() and (record := read_record(root / name)):
            return _info(record)
    raise MMXError(f"no job called {name!r}", runs_dir())


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
