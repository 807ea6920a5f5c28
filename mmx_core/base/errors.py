"""The one exception type of the project."""

from __future__ import annotations

from pathlib import Path


class MMXError(Exception):
    """A problem with user input, a file or a parameter, worded for the user.

    The message names the file (when there is one), what is wrong and, where
    possible, what to do. The CLI prints it on one line without a traceback.
    Control characters in the message and the path (an ANSI escape in a folder
    name, a newline in a library's message) are written as visible escapes
    (:func:`mmx_core.base.safeio.escape_control`), so the message stays one line
    and cannot redraw a terminal; :attr:`path` keeps the real path.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    path : str or Path, optional
        The file or folder the problem is in; prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        from mmx_core.base.safeio import escape_control

        self.path = None if path is None else Path(path)
        self.message = escape_control(message)
        where = None if self.path is None else escape_control(self.path)
        super().__init__(f"{where}: {self.message}" if where is not None else self.message)
