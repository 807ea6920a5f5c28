"""Processes the job supervisor starts: identity, liveness, stopping a process group.

A process is identified by its pid *and* its start time (field 22 of ``/proc/<pid>/stat``, in clock
ticks since boot), so a pid reused by an unrelated process is never taken for a job's supervisor and
never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

__all__ = ["start_ticks", "alive", "group_alive", "stop_group", "spawn"]

_CHILDREN: dict[int, subprocess.Popen] = {}


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(") ", 1)[-1].split()  # fields from the state (field 3) on; the name may hold spaces


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot), or None when there is no such process."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def alive(pid: int | None, started: int | None = None) -> bool:
    """True while ``pid`` runs, is not a zombie, and (when ``started`` is given) is the process that started then."""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:  # reaps our own exited child
        return False
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return False
    return started is None or int(fields[19]) == started


def group_alive(pgid: int, started: int | None = None) -> bool:
    """True while any live process is in process group ``pgid`` led by the process that started at ``started``."""
    if started is not None and start_ticks(pgid) not in (None, started):
        return False  # the leader's pid now belongs to another process: not our group
    alive(pgid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getpgid(int(entry.name)) == pgid and alive(int(entry.name)):
                    return True
    return False


def stop_group(pgid: int, started: int | None, grace: float = 10.0) -> None:
    """SIGTERM to the process group led by ``pgid`` (only if its leader is the one that started at ``started``),
    SIGKILL after ``grace`` seconds."""
    if started is not None and start_ticks(pgid) not in (None, started):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.time() + wait
        while group_alive(pgid) and time.time() < deadline:
            time.sleep(0.05)
        if not group_alive(pgid):
            return


def spawn(argv: list[str], cwd: Path, log: Path, env: dict[str, str]) -> tuple[int, int | None]:
    """Start ``argv`` as the leader of a new session, output appended to ``log``; returns (pid, start ticks)."""
    with open(log, "ab") as handle:
        process = subprocess.Popen(argv, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    _CHILDREN[process.pid] = process
    return process.pid, start_ticks(process.pid)
