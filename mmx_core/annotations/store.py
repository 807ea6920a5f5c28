"""The annotation store of one embedding set: named sub-genres, tags, notes and saved views, with an undo history.

One SQLite file per set (:func:`store_path`, under :func:`mmx_core.base.paths.annotations_dir`). SQLite
gives what a store shared by a lab needs without code of our own: every change is one transaction
(a process killed mid-write leaves the store as it was before the change), many processes may read and
write at once (writers wait their turn, ``BEGIN IMMEDIATE``), and the file stays consistent (WAL journal,
``synchronous=FULL``).

Every change records its author (the signed-in user, or ``"local"``), its time, a one-line summary and the
state before it of everything it touched (:func:`~mmx_core.annotations.state.snapshot`); :meth:`AnnotationStore.undo` restores that
state, newest change first.

A named sub-genre is a name, a note, a colour and a set of trailer ids: it follows its members, never a
cluster number (:mod:`mmx_core.annotations.carry`).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from mmx_core.annotations.state import drop_subgenre, record, restore, write_subgenre
from mmx_core.annotations.store_file import LOCAL_AUTHOR, StoreFile, checked_ids
from mmx_core.annotations.subgenre_edits import SubgenreEdits
from mmx_core.annotations.table import Row, check_name, check_note, table_text
from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import annotations_dir

__all__ = ["AnnotationStore", "Subgenre", "Change", "store_path", "LOCAL_AUTHOR"]


def store_path(set_name: str) -> Path:
    """The store file of the embedding set ``set_name``: a readable slug of the name and a hash of it (set names
    such as ``run:r1/fine`` hold characters a file name should not)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", set_name).strip("._")[:60] or "set"
    digest = hashlib.sha256(set_name.encode()).hexdigest()[:10]
    return annotations_dir() / f"{slug}-{digest}.sqlite"


@dataclass(frozen=True)
class Subgenre:
    """A named sub-genre: ``members`` are trailer ids."""

    name: str
    note: str
    colour: str
    members: frozenset[str]
    author: str
    time: float


@dataclass(frozen=True)
class Change:
    """One entry of the history."""

    seq: int
    time: float
    author: str
    action: str
    summary: str
    undone: bool


class AnnotationStore(SubgenreEdits, StoreFile):
    """The annotations of one embedding set (see the module docstring): ``AnnotationStore(path, author)`` as
    :class:`~mmx_core.annotations.store_file.StoreFile`, the sub-genre edits of
    :class:`~mmx_core.annotations.subgenre_edits.SubgenreEdits`, and the reads, tags, notes, views, import and
    undo below."""

    @classmethod
    def for_set(cls, set_name: str, author: str = LOCAL_AUTHOR) -> "AnnotationStore":
        """The store of the embedding set ``set_name``."""
        return cls(store_path(set_name), author)

    # -- reading ------------------------------------------------------------------------------------
    def revision(self) -> str:
        """What identifies the store's state ("" while it has none): the store's own id and its last change, so
        it differs after every change, and between a store and a new one made in its place (a cache key)."""
        rows = self._select("SELECT COALESCE(MAX(seq), 0), (SELECT value FROM meta WHERE key = 'store_id') FROM history")
        return f"{rows[0][1]}:{rows[0][0]}" if rows and rows[0][0] else ""

    def last_change(self) -> int:
        """The number of the newest change (0: none)."""
        rows = self._select("SELECT COALESCE(MAX(seq), 0) FROM history")
        return int(rows[0][0]) if rows else 0

    def subgenres(self) -> dict[str, Subgenre]:
        """Name -> :class:`Subgenre`, by name."""
        with self._reading() as conn:
            if conn is None:
                return {}
            members: dict[str, set] = {}
            for name, trailer in conn.execute("SELECT name, id FROM members"):
                members.setdefault(name, set()).add(trailer)
            rows = conn.execute("SELECT name, note, colour, author, time FROM subgenres ORDER BY name").fetchall()
        return {r[0]: Subgenre(r[0], r[1], r[2], frozenset(members.get(r[0], ())), r[3], r[4]) for r in rows}

    def tags(self) -> pd.DataFrame:
        """Every tag of a trailer: ``id, tag, author, time``."""
        return pd.DataFrame(self._select("SELECT id, tag, author, time FROM tags ORDER BY tag, id"),
                            columns=["id", "tag", "author", "time"])

    def notes(self) -> dict[str, str]:
        """Trailer id -> its note."""
        return dict(self._select("SELECT id, note FROM notes"))

    def views(self) -> dict[str, dict]:
        """Saved view name -> its parameters (the URL query parameters of :class:`~mmx_core.appkit.url_state.ViewState`)."""
        rows = self._select("SELECT name, params FROM views ORDER BY name")
        return {name: json.loads(params) for name, params in rows}

    def history(self, limit: int = 20) -> list[Change]:
        """The latest ``limit`` changes, newest first."""
        rows = self._select("SELECT seq, time, author, action, summary, undone FROM history ORDER BY seq DESC LIMIT ?",
                            (int(limit),))
        return [Change(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def rows(self) -> list[Row]:
        """Everything as rows of the annotations table (:mod:`mmx_core.annotations.table`), in a stable order."""
        found = [Row(m, s.name, "subgenre", s.note, s.colour) for s in self.subgenres().values() for m in sorted(s.members)]
        found += [Row(i, t) for i, t in self.tags()[["id", "tag"]].itertuples(index=False)]
        found += [Row(i, "", "note", n) for i, n in sorted(self.notes().items())]
        return found

    def write_csv(self, target: str | Path, titles: dict[str, str] | None = None) -> int:
        """Write every annotation to the CSV ``target`` (:func:`~mmx_core.annotations.table.table_text`, a title
        column from ``titles``), atomically; returns the rows written."""
        rows = self.rows()
        with atomic_write(target, "w") as handle:
            handle.write(table_text(rows, titles))
        return len(rows)

    def export_copy(self) -> Path:
        """The store's annotations as a CSV beside it, ``exports/<store>-<change>.csv`` (written once per change):
        what a training run started from the app reads with ``--tags`` and records by hash."""
        target = self.path.parent / "exports" / f"{self.path.stem}-{self.last_change()}.csv"
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            self.write_csv(target)
        return target

    # -- tags, notes, views -------------------------------------------------------------------------
    def tag(self, ids: Iterable[str], tag: str) -> int:
        """Tag the trailers ``ids`` with ``tag``."""
        return self._tags(ids, tag, True)

    def untag(self, ids: Iterable[str], tag: str) -> int:
        """Take the tag ``tag`` off the trailers ``ids``."""
        return self._tags(ids, tag, False)

    def _tags(self, ids: Iterable[str], tag: str, add: bool) -> int:
        tag, ids = check_name(tag, "tag"), checked_ids(ids)

        def apply(conn, now):
            if add:
                conn.executemany("INSERT OR IGNORE INTO tags (id, tag, author, time) VALUES (?,?,?,?)",
                                 [(i, tag, self.author, now) for i in ids])
            else:
                conn.executemany("DELETE FROM tags WHERE id = ? AND tag = ?", [(i, tag) for i in ids])

        summary = f"tagged {len(ids)} trailers {tag!r}" if add else f"took {tag!r} off {len(ids)} trailers"
        return self._change("tag" if add else "untag", summary, {"tags": [(i, tag) for i in ids]}, apply)

    def set_note(self, trailer: str, note: str) -> int:
        """The note of one trailer (empty: none)."""
        trailer, note = checked_ids([trailer])[0], check_note(note)

        def apply(conn, now):
            conn.execute("DELETE FROM notes WHERE id = ?", (trailer,))
            if note:
                conn.execute("INSERT INTO notes (id, note, author, time) VALUES (?,?,?,?)", (trailer, note, self.author, now))

        return self._change("note", f"noted {trailer!r}", {"notes": [trailer]}, apply)

    def save_view(self, name: str, params: dict[str, str]) -> int:
        """Save (or replace) the view ``name``: its URL query parameters."""
        name = check_name(name, "view name")
        params = {str(k)[:40]: str(v)[:400] for k, v in dict(params).items()}

        def apply(conn, now):
            conn.execute("INSERT OR REPLACE INTO views (name, params, author, time) VALUES (?,?,?,?)",
                         (name, json.dumps(params, sort_keys=True), self.author, now))

        return self._change("view", f"saved the view {name!r}", {"views": [name]}, apply)

    def import_rows(self, rows: Iterable[Row], source: str = "a file") -> int:
        """Add ``rows`` (checked rows of :mod:`mmx_core.annotations.table`) as one change: tags added, members added
        to their sub-genre (made if new; a note or colour given replaces the old), notes replaced."""
        rows = list(rows)
        if not rows:
            raise MMXError("nothing to import")
        named = {r.tag for r in rows if r.kind == "subgenre"}
        touched = {"subgenres": sorted(named), "tags": sorted({(r.id, r.tag) for r in rows if r.kind == "tag"}),
                   "notes": sorted({r.id for r in rows if r.kind == "note"})}

        def apply(conn, now):
            for name in touched["subgenres"]:
                old = record(conn, name) or {"note": "", "colour": "", "members": set()}
                own = [r for r in rows if r.kind == "subgenre" and r.tag == name]
                note = next((r.note for r in reversed(own) if r.note), old["note"])
                colour = next((r.colour for r in reversed(own) if r.colour), old["colour"])
                drop_subgenre(conn, name)
                write_subgenre(conn, name, note, colour, sorted(old["members"] | {r.id for r in own}), self.author, now)
            conn.executemany("INSERT OR IGNORE INTO tags (id, tag, author, time) VALUES (?,?,?,?)",
                             [(i, t, self.author, now) for i, t in touched["tags"]])
            for r in rows:
                if r.kind == "note":
                    conn.execute("INSERT OR REPLACE INTO notes (id, note, author, time) VALUES (?,?,?,?)",
                                 (r.id, r.note, self.author, now))

        return self._change("import", f"imported {len(rows)} rows from {source}", touched, apply)

    # -- undo ---------------------------------------------------------------------------------------
    def undo(self, own_only: bool = False) -> Change:
        """Undo the newest change not yet undone (with ``own_only``, refused when it is someone else's); returns it."""
        with self._writing() as conn:
            row = conn.execute("SELECT seq, time, author, action, summary, before FROM history WHERE undone = 0 "
                               "AND action != 'undo' ORDER BY seq DESC LIMIT 1").fetchone()
            if row is None:
                raise MMXError("nothing to undo")
            if own_only and row[2] != self.author:
                raise MMXError(f"the latest change ({row[4]}) is {row[2]}'s, not yours; it stays")
            restore(conn, json.loads(row[5]))
            conn.execute("UPDATE history SET undone = 1 WHERE seq = ?", (row[0],))
            conn.execute("INSERT INTO history (time, author, action, summary, before) VALUES (?,?,?,?,?)",
                         (time.time(), self.author, "undo", f"undid: {row[4]}", "{}"))
        return Change(row[0], row[1], row[2], row[3], row[4], True)
