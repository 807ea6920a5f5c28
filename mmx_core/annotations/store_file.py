"""The SQLite file behind an annotation store: opening it, reading, and one change as one transaction.

:class:`StoreFile` is the base of :class:`mmx_core.annotations.store.AnnotationStore`: the file is created
(with its schema) on the first change, never by reading; a change runs in ``BEGIN IMMEDIATE`` (writers wait
their turn), records the state before it of everything it touches
(:func:`~mmx_core.annotations.state.snapshot`) and its history entry, and commits or leaves nothing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from mmx_core.annotations.state import SCHEMA, SCHEMA_VERSION, snapshot
from mmx_core.annotations.table import check_name
from mmx_core.base.errors import MMXError

__all__ = ["StoreFile", "LOCAL_AUTHOR", "checked_ids"]

LOCAL_AUTHOR = "local"


def checked_ids(ids: Iterable[str]) -> list[str]:
    found = sorted({str(i) for i in ids})
    if not found:
        raise MMXError("no trailers given")
    return found


class StoreFile:
    """The store's file and who writes through this object (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The SQLite file; created (with its folder) on the first change, never by reading.
    author : str
        Who makes the changes made through this object.
    """

    def __init__(self, path: str | Path, author: str = LOCAL_AUTHOR) -> None:
        self.path = Path(path)
        self.author = check_name(author or LOCAL_AUTHOR, "author")

    def _connect(self) -> sqlite3.Connection:
        if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
            raise MMXError("annotation store is not a regular file; move it away", self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise MMXError(f"annotation store cannot be read ({exc}); move it away to start a new one",
                           self.path) from None
        if version not in (0, SCHEMA_VERSION):
            conn.close()
            raise MMXError(f"annotation store has schema version {version}; this version reads {SCHEMA_VERSION}",
                           self.path)
        if version == 0:
            conn.executescript(SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION};")
        return conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            yield None
            return
        conn = self._connect()
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            raise MMXError(f"annotation store cannot be read ({exc})", self.path) from None
        finally:
            conn.close()

    def _select(self, sql: str, params: tuple = ()) -> list[tuple]:
        """The rows of one query (none while the store has no file)."""
        with self._reading() as conn:
            return [] if conn is None else conn.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise MMXError(f"annotation store could not be written ({exc}); nothing was changed",
                           self.path) from None
        finally:
            conn.close()

    def _change(self, action: str, summary: str, touched: dict,
                apply: Callable[[sqlite3.Connection, float], None]) -> int:
        """Apply one change in one transaction, recording what ``touched`` names as it was before; returns its seq."""
        with self._writing() as conn:
            now = time.time()
            before = snapshot(conn, **touched)
            apply(conn, now)
            cursor = conn.execute("INSERT INTO history (time, author, action, summary, before) VALUES (?,?,?,?,?)",
                                  (now, self.author, action, summary, json.dumps(before)))
            return int(cursor.lastrowid)
