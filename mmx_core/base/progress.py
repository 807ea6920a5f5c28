"""The one progress helper of library code.

Library loops call :func:`progress` instead of printing. By default it shows a
tqdm bar on stderr (the CLI); the app installs a callback with
:func:`progress_callback` to drive a Streamlit progress bar; background
training runs write events.jsonl themselves. A command run as a background job (the job
supervisor sets ``MMX_JOB_STATUS`` to the job's ``status.json``) also writes its progress there,
at most twice a second, so every job kind shows progress without code of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from mmx_core.base.console import raw_stream

T = TypeVar("T")
ProgressCallback = Callable[[str, int, int | None], None]

_callback: ProgressCallback | None = None


@contextlib.contextmanager
def progress_callback(callback: ProgressCallback | None) -> Iterator[None]:
    """Route progress to ``callback(description, done, total)`` for the block (None: tqdm)."""
    global _callback
    previous, _callback = _callback, callback
    try:
        yield
    finally:
        _callback = previous


class _JobStatus:
    """Progress of the current command into the ``status.json`` named by ``MMX_JOB_STATUS``."""

    interval = 0.5

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.last = 0.0

    def __call__(self, description: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < self.interval and done != total:
            return
        self.last = now
        try:
            status = json.loads(self.path.read_text())
        except (OSError, ValueError):
            status = {}
        if status.get("state") not in (None, "queued", "running"):
            return  # cancelled or ended meanwhile: never overwrite that
        status.update({"state": "running", "message": f"{description} {done}/{total or '?'}".strip(),
                       "progress": done / total if total else status.get("progress", 0.0), "updated": time.time()})
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(status))
            os.replace(tmp, self.path)


def progress(iterable: Iterable[T], description: str = "", total: int | None = None, disable: bool = False) -> Iterator[T]:
    """Iterate over ``iterable`` while reporting progress."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if _callback is not None:
        callback = _callback
        for done, item in enumerate(iterable, start=1):
            yield item
            callback(description, done, total)
        return
    from tqdm.auto import tqdm

    job = _JobStatus(os.environ["MMX_JOB_STATUS"]) if os.environ.get("MMX_JOB_STATUS") else None
    bar = tqdm(iterable, desc=description, total=total, disable=disable, leave=False, file=raw_stream(sys.stderr))
    for done, item in enumerate(bar, 1):
        yield item
        if job is not None:
            job(description, done, total)
