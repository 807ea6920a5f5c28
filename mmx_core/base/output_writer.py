"""One writer per output, built beside its target and swapped in when complete.

:func:`output_lock` holds the writer lock (:func:`mmx_core.base.locks.folder_lock`) of the target's staging
folder ``.<name>.partial`` (:func:`stage_dir`) for the whole run; a second writer of the same target is
refused at once, naming the first (its pid and command line). :func:`swap_in` renames the finished staging
folder onto the target; the old target stays whole until then. Where a command may write at all is
:func:`mmx_core.base.outputs.check_output`'s to say.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

from mmx_core.base.locks import LOCK_NAME, folder_lock

__all__ = ["STAGE_SUFFIX", "stage_dir", "output_lock", "swap_in"]

STAGE_SUFFIX = ".partial"


def stage_dir(target: str | Path) -> Path:
    """The folder ``target`` is built in (and whose writer lock its writers hold): ``.<name>.partial`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}{STAGE_SUFFIX}"


@contextlib.contextmanager
def output_lock(target: str | Path, what: str) -> Iterator[Path]:
    """Hold the writer lock of ``target`` (on its staging folder) for the block; yields the staging folder.

    A second writer of the same target is refused at once, naming the first (and leaves the first's lock as
    it is). A staging folder left holding nothing but the lock (a run that failed before writing) is removed
    by its holder on the way out.
    """
    stage = stage_dir(target)
    with folder_lock(stage, what):
        try:
            yield stage
        finally:
            with contextlib.suppress(OSError):
                if stage.is_dir() and set(os.listdir(stage)) <= {LOCK_NAME}:
                    (stage / LOCK_NAME).unlink(missing_ok=True)
                    stage.rmdir()


def swap_in(stage: Path, target: Path) -> None:
    """Rename the finished ``stage`` onto ``target``; an existing ``target`` is moved aside first, then deleted.

    The old ``target`` stays whole until the new one is complete; only the two renames lie between.
    """
    old = None
    if os.path.lexists(target):
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(stage, target)
    if target.is_dir():
        (target / LOCK_NAME).unlink(missing_ok=True)   # the staging folder's lock moved with the rename
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
