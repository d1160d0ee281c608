"""Library folders: the roots a user asked to index."""

from __future__ import annotations

import sqlite3
import time

from illudex.catalog.transaction import transaction
from illudex.paths import is_under, to_catalog


def ensure_folder(conn: sqlite3.Connection, path: str) -> int:
    """The id of the library folder holding `path`, adding `path` as one if none does.

    A new folder that contains older ones takes their images over.
    """
    display, _ = to_catalog(path)
    for folder_id, folder in conn.execute("SELECT id, path FROM folders"):
        if is_under(display, folder):
            return int(folder_id)
    with transaction(conn, immediate=True):
        cur = conn.execute(
            "INSERT INTO folders (path, added_at) VALUES (?, ?)", (display, time.time())
        )
        new_id = int(cur.lastrowid)
        others = conn.execute("SELECT id, path FROM folders WHERE id != ?", (new_id,)).fetchall()
        for old_id, old in others:
            if is_under(old, display):
                conn.execute(
                    "UPDATE images SET folder_id = ? WHERE folder_id = ?", (new_id, old_id)
                )
                conn.execute("DELETE FROM folders WHERE id = ?", (old_id,))
    return new_id


def list_folders(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT path FROM folders ORDER BY path")]


def folder_of(conn: sqlite3.Connection, path: str) -> int | None:
    """The library folder holding `path`, if any."""
    display, _ = to_catalog(path)
    for folder_id, folder in conn.execute("SELECT id, path FROM folders"):
        if is_under(display, folder):
            return int(folder_id)
    return None


def folder_path(conn: sqlite3.Connection, folder_id: int) -> str | None:
    """The catalog path of library folder `folder_id`, None if there is none."""
    row = conn.execute("SELECT path FROM folders WHERE id = ?", (folder_id,)).fetchone()
    return row[0] if row else None
