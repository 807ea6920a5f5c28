"""The one progress helper of library code.

Library loops call :func:`progress` instead of printing. By default it shows a
tqdm bar on stderr (the CLI); the app installs a callback with
:func:`set_progress_callback` to drive a Streamlit progress bar; background
training runs write events.jsonl themselves.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
ProgressCallback = Callable[[str, int, int | None], None]

_callback: ProgressCallback | None = None


def set_progress_callback(callback: ProgressCallback | None) -> None:
    """Route progress to ``callback(description, done, total)``; None restores tqdm."""
    global _callback
    _callback = callback


@contextlib.contextmanager
def progress_callback(callback: ProgressCallback | None) -> Iterator[None]:
    """Temporarily route progress to ``callback``."""
    previous = _callback
    set_progress_callback(callback)
    try:
        yield
    finally:
        set_progress_callback(previous)


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

    yield from tqdm(iterable, desc=description, total=total, disable=disable, leave=False)
