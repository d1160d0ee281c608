"""Rows of `scan_errors`: files whose bytes were read and are no picture, by catalog path,
so that a re-scan skips them until their size or time changes."""

from __future__ import annotations

import sqlite3
import time

from illudex.paths import to_catalog


def known(conn: sqlite3.Connection) -> dict[str, tuple[int, int, str]]:
    """catalog path → (size, mtime_ns, reason) of every recorded failure."""
    return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT path, size, mtime_ns, error FROM scan_errors")}


def record(conn: sqlite3.Connection, path: str, size: int, mtime_ns: int, error: str) -> None:
    conn.execute("INSERT OR REPLACE INTO scan_errors (path, size, mtime_ns, error, at) "
                 "VALUES (?,?,?,?,?)", (to_catalog(path)[0], size, mtime_ns, error, time.time()))


def clear(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("DELETE FROM scan_errors WHERE path = ?", (to_catalog(path)[0],))
