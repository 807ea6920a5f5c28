"""One writer per folder: an exclusive lock the operating system releases when the holder dies.

``with folder_lock(path, "run folder"):`` takes ``path/.writer.lock`` (``fcntl.flock``, non-blocking).
While another process holds it, the second writer is refused at once with an :class:`MMXError`
naming the holder (its pid and command line), and nothing of the folder is touched. A killed
holder (even ``kill -9``) releases the lock with its file descriptor, so no stale lock is left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from mmx_core.base.errors import MMXError

__all__ = ["LOCK_NAME", "folder_lock", "lock_holder"]

LOCK_NAME = ".writer.lock"


def _recorded_holder(handle) -> dict:
    """What the holder wrote into the lock file (``{}`` when unreadable)."""
    handle.seek(0)
    try:
        return json.loads(handle.read() or "{}")
    except ValueError:
        return {}


def lock_holder(folder: str | Path) -> dict | None:
    """Who holds ``folder``'s writer lock (``{"pid", "command", "since"}``), or None when it is free."""
    path = Path(folder) / LOCK_NAME
    if not path.is_file():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _recorded_holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str = "folder") -> Iterator[Path]:
    """Hold ``folder``'s writer lock for the ``with`` block (the folder is created if needed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _recorded_holder(handle)
            raise MMXError(f"{what} is being written by another process (pid {holder.get('pid', '?')}: "
                           f"{holder.get('command', '?')}); wait for it to end or choose another folder",
                           folder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv)[:300], "since": time.time()}))
        handle.flush()
        yield folder
    finally:
        handle.close()  # closing the descriptor releases the lock
