"""The one exception type of the project."""

from __future__ import annotations

from pathlib import Path


class MMXError(Exception):
    """A problem with user input, a file or a parameter, worded for the user.

    The message names the file (when there is one), what is wrong and, where
    possible, what to do. The CLI prints it on one line without a traceback.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    path : str or Path, optional
        The file or folder the problem is in; prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)
