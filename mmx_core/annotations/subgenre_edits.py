"""Edits of named sub-genres: name, rename, describe, add and remove members, merge, split, delete.

A mixin of :class:`mmx_core.annotations.store.AnnotationStore`: each edit is one change of the store
(``self._change``: one transaction, one history entry, undoable).
"""

from __future__ import annotations

from typing import Iterable

from mmx_core.annotations.state import drop_subgenre, require, require_free, write_subgenre
from mmx_core.annotations.store_file import checked_ids
from mmx_core.annotations.table import check_colour, check_name, check_note
from mmx_core.base.errors import MMXError

__all__ = ["SubgenreEdits"]


class SubgenreEdits:
    """The named sub-genre edits of an annotation store (each returns the change's number)."""

    def name_subgenre(self, name: str, members: Iterable[str], note: str = "", colour: str = "") -> int:
        """Make the named sub-genre ``name`` of ``members`` (refused when the name is taken)."""
        name, note, colour, members = check_name(name), check_note(note), check_colour(colour), checked_ids(members)

        def apply(conn, now):
            require_free(conn, name, "; choose another name or add to it")
            write_subgenre(conn, name, note, colour, members, self.author, now)

        return self._change("name", f"named {name!r} ({len(members)} trailers)", {"subgenres": [name]}, apply)

    def rename_subgenre(self, old: str, new: str) -> int:
        """Rename a named sub-genre (its members, note and colour stay)."""
        old, new = check_name(old), check_name(new)

        def apply(conn, now):
            found = require(conn, old)
            if new != old:
                require_free(conn, new)
            drop_subgenre(conn, old)
            write_subgenre(conn, new, found["note"], found["colour"], found["members"], self.author, now)

        return self._change("rename", f"renamed {old!r} to {new!r}", {"subgenres": [old, new]}, apply)

    def describe_subgenre(self, name: str, note: str | None = None, colour: str | None = None) -> int:
        """Change the note and/or colour of a named sub-genre."""
        name = check_name(name)
        note = None if note is None else check_note(note)
        colour = None if colour is None else check_colour(colour)

        def apply(conn, now):
            found = require(conn, name)
            drop_subgenre(conn, name)
            write_subgenre(conn, name, found["note"] if note is None else note,
                           found["colour"] if colour is None else colour, found["members"], self.author, now)

        return self._change("describe", f"described {name!r}", {"subgenres": [name]}, apply)

    def add_members(self, name: str, ids: Iterable[str]) -> int:
        """Add trailers to a named sub-genre."""
        return self._members(name, ids, "add", "INSERT OR IGNORE INTO members (name, id) VALUES (?, ?)",
                             "added {n} trailers to {name!r}")

    def remove_members(self, name: str, ids: Iterable[str]) -> int:
        """Take trailers out of a named sub-genre."""
        return self._members(name, ids, "remove", "DELETE FROM members WHERE name = ? AND id = ?",
                             "removed {n} trailers from {name!r}")

    def _members(self, name: str, ids: Iterable[str], action: str, sql: str, summary: str) -> int:
        """One change of a named sub-genre's members: ``sql`` run for each ``(name, id)``."""
        name, ids = check_name(name), checked_ids(ids)

        def apply(conn, now):
            require(conn, name)
            conn.executemany(sql, [(name, i) for i in ids])

        return self._change(action, summary.format(n=len(ids), name=name), {"subgenres": [name]}, apply)

    def merge_subgenres(self, names: Iterable[str], into: str) -> int:
        """Merge named sub-genres into ``into`` (one of them, or a new name): the union of their members."""
        names, into = [check_name(n) for n in dict.fromkeys(names)], check_name(into)
        if len(names) < 2:
            raise MMXError("merging needs at least two named sub-genres")

        def apply(conn, now):
            records = [require(conn, n) for n in names]
            if into not in names:
                require_free(conn, into)
            keep = next((r for n, r in zip(names, records) if n == into), records[0])
            members = set().union(*(r["members"] for r in records))
            for n in names:
                drop_subgenre(conn, n)
            write_subgenre(conn, into, keep["note"], keep["colour"], sorted(members), self.author, now)

        return self._change("merge", f"merged {', '.join(map(repr, names))} into {into!r}",
                            {"subgenres": [*names, into]}, apply)

    def split_subgenre(self, name: str, ids: Iterable[str], new: str) -> int:
        """Move the trailers ``ids`` of a named sub-genre into a new one called ``new``."""
        name, new, ids = check_name(name), check_name(new), checked_ids(ids)

        def apply(conn, now):
            found = require(conn, name)
            moving = sorted(found["members"] & set(ids))
            if not moving:
                raise MMXError(f"none of the chosen trailers is in {name!r}")
            require_free(conn, new)
            conn.executemany("DELETE FROM members WHERE name = ? AND id = ?", [(name, i) for i in moving])
            write_subgenre(conn, new, "", "", moving, self.author, now)

        return self._change("split", f"split {new!r} out of {name!r}", {"subgenres": [name, new]}, apply)

    def delete_subgenre(self, name: str) -> int:
        """Forget a named sub-genre (undo brings it back)."""
        name = check_name(name)

        def apply(conn, now):
            require(conn, name)
            drop_subgenre(conn, name)

        return self._change("delete", f"deleted {name!r}", {"subgenres": [name]}, apply)
