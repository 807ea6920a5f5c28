"""What a command prints reaches the terminal escaped: one rule for every line, not one per message.

A file name, a metadata title or a library's message can hold an ANSI escape, a carriage return
or a newline. :func:`escaped_output` wraps ``sys.stdout`` and ``sys.stderr`` for the duration of a
command so that every control character except the line break that ends a message is written as a visible
escape (:func:`~mmx_core.base.errors.escape_control`), and :class:`EscapingFilter` makes every
log record one line. A command whose output has line breaks of its own (indented JSON, a report)
prints it with :func:`print_block`, which keeps those and still escapes everything else. The CLI installs both around each command; library code needs nothing of
its own. Progress bars draw on the raw stream (:func:`raw_stream`), since their carriage returns
are the project's own.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from typing import Iterator, TextIO

from mmx_core.base.errors import escape_control

__all__ = ["EscapingStream", "EscapingFilter", "escaped_output", "print_block", "print_json", "raw_stream"]


class EscapingStream(io.TextIOBase):
    """A text stream writing to ``raw`` with control characters escaped (a write's final line break kept)."""

    def __init__(self, raw: TextIO):
        super().__init__()
        self.raw = raw

    def write(self, text: str) -> int:
        # escaped but for one final line break, so a newline inside a name cannot start a forged line: ``print``
        # writes its arguments and its ``end`` in separate calls, so each message is escaped whole
        self.raw.write(escape_control(text[:-1]) + "\n" if text.endswith("\n") else escape_control(text))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", "utf-8")

    def writable(self) -> bool:
        return True


def print_block(text: str, file: TextIO | None = None) -> None:
    """Print ``text`` whose line breaks are the caller's own (indented JSON, a report table).

    Each line still has its control characters escaped; the caller vouches that no value it holds can
    add a line (JSON escapes its strings; a report escapes the names it formats).
    """
    stream = sys.stdout if file is None else file
    text = text[:-1] if text.endswith("\n") else text
    if isinstance(stream, EscapingStream):
        stream.raw.write("\n".join(escape_control(line) for line in text.split("\n")) + "\n")
    else:
        stream.write(text + "\n")


def print_json(obj) -> None:
    """Print ``obj`` as indented JSON (:func:`print_block`)."""
    print_block(json.dumps(obj, indent=2))


class EscapingFilter(logging.Filter):
    """Formats each record's message once and escapes it, so every log line stays one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = escape_control(record.getMessage())
        record.args = None
        return True


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under an :class:`EscapingStream` (``stream`` itself otherwise): for progress bars."""
    return stream.raw if isinstance(stream, EscapingStream) else stream


@contextlib.contextmanager
def escaped_output() -> Iterator[None]:
    """Escape control characters in everything written to stdout, stderr and the root logger's handlers."""
    saved = sys.stdout, sys.stderr
    log_filter = EscapingFilter()
    handlers = list(logging.getLogger().handlers)
    sys.stdout, sys.stderr = EscapingStream(raw_stream(sys.stdout)), EscapingStream(raw_stream(sys.stderr))
    for handler in handlers:
        handler.addFilter(log_filter)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = saved
        for handler in handlers:
            handler.removeFilter(log_filter)
