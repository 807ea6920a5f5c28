"""The one exception type of the project."""

from __future__ import annotations

import enum
import re
from pathlib import Path

__all__ = ["ExitCode", "MMXError", "escape_control", "first_line", "render_exit_codes"]


class ExitCode(enum.IntEnum):
    """The one table of exit codes every command applies (``python -m mmx_core ...`` and the jobs it runs).

    A command that skipped or refused any input never exits 0 (:attr:`meaning` says what each code means).
    """

    OK = 0
    FAILED_INPUTS = 1
    REFUSED = 2
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        """What the code tells the caller, in one line (docs/interfaces.md shows the table)."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.OK: "every input used, every output written",
    ExitCode.FAILED_INPUTS: "some inputs (or writes) failed and were reported, one line each; what completed "
                            "is kept (a resumable command can go on)",
    ExitCode.REFUSED: "refused before any work: a usage error, a bad parameter, an unsafe output target, a "
                      "folder held by another writer; nothing was touched",
    ExitCode.INTERRUPTED: "stopped by Ctrl-C; what completed is kept",
}

EXIT_CODES_DOC, EXIT_CODES_BLOCK = "docs/interfaces.md", "exit-codes"


def render_exit_codes() -> str:
    """The exit-code table as the generated block of docs/interfaces.md."""
    rows = "\n".join(f"| {int(code)} | `{code.name}` | {code.meaning} |" for code in ExitCode)
    return "| code | name | meaning |\n| --- | --- | --- |\n" + rows


# C0 controls (tab included), DEL, C1 controls, and the bidirectional overrides that reorder text
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(text: object) -> str:
    """``text`` (made a str) with each control character written as a visible escape (``\\x1b``, ``\\n``).

    Terminal escapes, carriage returns, newlines and bidirectional overrides in a file name or a
    library's message can then neither redraw a terminal nor split a one-line message.
    """
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(0)) or (f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100
                                                            else f"\\u{ord(m.group(0)):04x}"), str(text))


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first line of an exception's message (a library's message may run to many); when it has none,
    ``default`` (None: the exception's type name)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__ if default is None else default


class MMXError(Exception):
    """A problem with user input, a file or a parameter, worded for the user.

    The message names the file (when there is one), what is wrong and, where
    possible, what to do. The CLI prints it on one line without a traceback.
    Control characters in the message and the path (an ANSI escape in a folder
    name, a newline in a library's message) are written as visible escapes
    (:func:`escape_control`), so the message stays one line
    and cannot redraw a terminal; :attr:`path` keeps the real path.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    path : str or Path, optional
        The file or folder the problem is in; prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.message = escape_control(message)
        where = None if self.path is None else escape_control(self.path)
        super().__init__(f"{where}: {self.message}" if where is not None else self.message)
