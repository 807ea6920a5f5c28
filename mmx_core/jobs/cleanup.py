"""Removing job entries without losing data: one broken job, or every ended job of some kinds.

A job folder is deleted only when it is a real folder (not a symbolic link) directly under the runs
folder or ``runs/.jobs``, its job is not queued or running, no process holds its writer lock, and it
holds nothing but the job's own files (:data:`JOB_FILES`). A folder holding anything else (a run's
checkpoints, embeddings, predictions, a file the user put there) is kept: removing a broken job then
deletes only its ``job.json`` and ``status.json``, so the queue forgets it and the run stays.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from mmx_core.base.errors import MMXError
from mmx_core.base.locks import LOCK_NAME, lock_holder
from mmx_core.base.paths import runs_dir
from mmx_core.jobs import process
from mmx_core.jobs.listing import find_job, list_jobs
from mmx_core.jobs.queue import queue_lock
from mmx_core.jobs.records import BROKEN, ENDED, jobs_dir

__all__ = ["JOB_FILES", "remove", "clear_ended"]

JOB_FILES = frozenset({"job.json", "status.json", "log.txt", "events.jsonl", "config.json", LOCK_NAME})
"""The files a job writes about itself; a folder holding only these (and temporary dot-files) holds no results."""


def _holds_results(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return any(not (e.name in JOB_FILES or (e.name.startswith(".") and e.is_file(follow_symlinks=False)))
                   for e in entries)


def _check_removable(folder: Path, job: dict) -> None:
    """Refuse unless ``folder`` is a job folder of the job roots with no live process and no writer."""
    root = folder.parent
    if root not in (runs_dir(), jobs_dir()) or folder.is_symlink() or not folder.is_dir():
        raise MMXError("not a job folder of the runs folder; nothing removed", folder)
    if folder.resolve().parent != root.resolve() or (root == jobs_dir() and root.is_symlink()):
        raise MMXError("the job folder leads outside the runs folder; nothing removed", folder)
    pid, started = job.get("pid"), job.get("pid_started")
    if isinstance(pid, int) and pid > 0 and process.alive(pid, started if isinstance(started, int) else None):
        raise MMXError(f"job {folder.name!r} still has a live process (pid {pid}); nothing removed")
    holder = lock_holder(folder)
    if holder is not None:
        raise MMXError(f"job {folder.name!r} is being written by another process (pid {holder.get('pid', '?')}); "
                       "nothing removed")


def _raw_job(folder: Path) -> dict:
    """``job.json`` as stored, for the pid of a broken job (anything unreadable gives {})."""
    with contextlib.suppress(OSError, ValueError):
        job = json.loads((folder / "job.json").read_text())
        return job if isinstance(job, dict) else {}
    return {}


def remove(name: str) -> str:
    """Remove the broken or ended job ``name``; returns what was done, in one line.

    Parameters
    ----------
    name : str
        The job's folder name.

    Returns
    -------
    str
        ``"removed"`` (the folder is gone) or ``"forgotten"`` (its job files are gone, its results kept).

    Raises
    ------
    MMXError
        The job is queued or running, has a live process, or its folder is not a job folder of the runs
        folder (a symbolic link, or outside it).
    """
    with queue_lock():
        info = find_job(name)
        if info.state not in (*ENDED, BROKEN):
            raise MMXError(f"job {name!r} is {info.state}; cancel it before removing it")
        _check_removable(info.path, info.job or _raw_job(info.path))
        if _holds_results(info.path):
            for name in ("job.json", "status.json"):
                (info.path / name).unlink(missing_ok=True)
            return "forgotten"
        shutil.rmtree(info.path)
    return "removed"


def clear_ended(kinds: tuple[str, ...]) -> list[str]:
    """Remove the ended jobs (finished, failed, cancelled) of ``kinds`` whose folders hold no results.

    A folder holding more than the job's own files (:data:`JOB_FILES`), such as a run with checkpoints,
    is kept and stays listed; broken jobs are left to :func:`remove`. Returns the removed jobs' names.
    """
    removed = []
    with queue_lock():
        for info in list_jobs():
            if info.kind not in kinds or info.state not in ENDED or info.alive:
                continue
            with contextlib.suppress(MMXError, OSError):
                _check_removable(info.path, info.job)
                if not _holds_results(info.path):
                    shutil.rmtree(info.path)
                    removed.append(info.name)
    return removed
