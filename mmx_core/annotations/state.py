"""The tables of an annotation store, and snapshots of their state for undo.

Functions of an open :mod:`sqlite3` connection inside a transaction (:mod:`mmx_core.annotations.store` opens
it): a named sub-genre's record, writing and deleting one, and :func:`snapshot` / :func:`restore` of what a
change touches (sub-genres, ``(trailer, tag)`` pairs, notes, saved views).
"""

from __future__ import annotations

from mmx_core.base.errors import MMXError

__all__ = ["SCHEMA", "SCHEMA_VERSION", "exists", "record", "require", "write_subgenre", "delete_subgenre", "snapshot",
           "restore"]

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


def exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM subgenres WHERE name = ?", (name,)).fetchone() is not None


def record(conn, name: str) -> dict | None:
    row = conn.execute("SELECT note, colour, author, time FROM subgenres WHERE name = ?", (name,)).fetchone()
    if row is None:
        return None
    members = {m for (m,) in conn.execute("SELECT id FROM members WHERE name = ?", (name,))}
    return {"note": row[0], "colour": row[1], "author": row[2], "time": row[3], "members": members}


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
    for trailer in notes:
        snap["notes"][trailer] = conn.execute("SELECT note, author, time FROM notes WHERE id = ?", (trailer,)).fetchone()
    for name in views:
        snap["views"][name] = conn.execute("SELECT params, author, time FROM views WHERE name = ?", (name,)).fetchone()
    return snap


def restore(conn, snap: dict) -> None:
    """Put back the state :func:`_snapshot` recorded."""
    for name, found in snap.get("subgenres", {}).items():
        drop_subgenre(conn, name)
        if found is not None:
            write_subgenre(conn, name, found["note"], found["colour"], found["members"], found["author"], found["time"])
    for trailer, tag, row in snap.get("tags", []):
        conn.execute("DELETE FROM tags WHERE id = ? AND tag = ?", (trailer, tag))
        if row is not None:
            conn.execute("INSERT INTO tags (id, tag, author, time) VALUES (?,?,?,?)", (trailer, tag, *row))
    for trailer, row in snap.get("notes", {}).items():
        conn.execute("DELETE FROM notes WHERE id = ?", (trailer,))
        if row is not None:
            conn.execute("INSERT INTO notes (id, note, author, time) VALUES (?,?,?,?)", (trailer, *row))
    for name, row in snap.get("views", {}).items():
        conn.execute("DELETE FROM views WHERE name = ?", (name,))
        if row is not None:
            conn.execute("INSERT INTO views (name, params, author, time) VALUES (?,?,?,?)", (name, *row))
