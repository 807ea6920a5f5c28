"""The tables of an annotation store, and snapshots of their state for undo.

Functions of an open :mod:`sqlite3` connection inside a transaction (:mod:`mmx_core.annotations.store` opens
it): a named sub-genre's record, writing and deleting one, and :func:`snapshot` / :func:`restore` of what a
change touches (sub-genres, ``(trailer, tag)`` pairs, notes, saved views).
"""

from __future__ import annotations

from mmx_core.base.errors import MMXError

__all__ = ["SCHEMA", "SCHEMA_VERSION", "record", "require", "require_free", "write_subgenre", "drop_subgenre",
           "snapshot", "restore"]

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS subgenres (name TEXT PRIMARY KEY, note TEXT NOT NULL, colour TEXT NOT NULL,
                                      author TEXT NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (name TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (name, id));
CREATE TABLE IF NOT EXISTS tags (id TEXT NOT NULL, tag TEXT NOT NULL, author TEXT NOT NULL, time REAL NOT NULL,
                                 PRIMARY KEY (id, tag));
CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, note TEXT NOT NULL, author TEXT NOT NULL, time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS views (name TEXT PRIMARY KEY, params TEXT NOT NULL, author TEXT NOT NULL,
                                  time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))));
CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, author TEXT NOT NULL,
                                    action TEXT NOT NULL, summary TEXT NOT NULL, before TEXT NOT NULL,
                                    undone INTEGER NOT NULL DEFAULT 0);
"""

_KEYED = {"notes": ("id", "note"), "views": ("name", "params")}
"""The tables holding one row per key (a trailer's note, a saved view): table -> (key column, value column)."""


def record(conn, name: str) -> dict | None:
    row = conn.execute("SELECT note, colour, author, time FROM subgenres WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    members = {m for (m,) in conn.execute("SELECT id FROM members WHERE name = ?", (name,))}
    return {"note": row[0], "colour": row[1], "author": row[2], "time": row[3], "members": members}


def require_free(conn, name: str, hint: str = "") -> None:
    """Refuse ``name`` when a sub-genre holds it already (``hint`` says what to do instead)."""
    if conn.execute("SELECT 1 FROM subgenres WHERE name = ?", (name,)).fetchone() is not None:
        raise MMXError(f"a sub-genre is already named {name!r}{hint}")


def require(conn, name: str) -> dict:
    found = record(conn, name)
    if found is None:
        raise MMXError(f"no sub-genre is named {name!r}")
    return found


def write_subgenre(conn, name, note, colour, members, author, now) -> None:
    conn.execute("INSERT INTO subgenres (name, note, colour, author, time) VALUES (?,?,?,?,?)",
                 (name, note, colour, author, now))
    conn.executemany("INSERT OR IGNORE INTO members (name, id) VALUES (?, ?)", [(name, m) for m in members])


def drop_subgenre(conn, name: str) -> None:
    conn.execute("DELETE FROM subgenres WHERE name = ?", (name,))
    conn.execute("DELETE FROM members WHERE name = ?", (name,))


def snapshot(conn, subgenres=(), tags=(), notes=(), views=()) -> dict:
    """The state of the named entities: each sub-genre's record (None: absent), each ``(id, tag)``'s presence,
    each trailer's note and each view's parameters (None: absent)."""
    snap = {"subgenres": {}, "tags": [], "notes": {}, "views": {}}
    for name in subgenres:
        found = record(conn, name)
        snap["subgenres"][name] = None if found is None else {**found, "members": sorted(found["members"])}
    for trailer, tag in tags:
        row = conn.execute("SELECT author, time FROM tags WHERE id = ? AND tag = ?", (trailer, tag)).fetchone()
        snap["tags"].append([trailer, tag, None if row is None else list(row)])
    for table, keys in (("notes", notes), ("views", views)):
        key, value = _KEYED[table]
        for name in keys:
            snap[table][name] = conn.execute(f"SELECT {value}, author, time FROM {table} WHERE {key} = ?",
                                             (name,)).fetchone()
    return snap


def restore(conn, snap: dict) -> None:
    """Put back the state :func:`snapshot` recorded."""
    for name, found in snap.get("subgenres", {}).items():
        drop_subgenre(conn, name)
        if found is not None:
            write_subgenre(conn, name, found["note"], found["colour"], found["members"], found["author"], found["time"])
    for trailer, tag, row in snap.get("tags", []):
        conn.execute("DELETE FROM tags WHERE id = ? AND tag = ?", (trailer, tag))
        if row is not None:
            conn.execute("INSERT INTO tags (id, tag, author, time) VALUES (?,?,?,?)", (trailer, tag, *row))
    for table, (key, value) in _KEYED.items():
        for name, row in snap.get(table, {}).items():
            conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (name,))
            if row is not None:
                conn.execute(f"INSERT INTO {table} ({key}, {value}, author, time) VALUES (?,?,?,?)", (name, *row))
