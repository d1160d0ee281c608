"""The catalog's one transaction helper: every write of the project goes through it.

Connections are opened in autocommit mode (`isolation_level=None`), so nothing is grouped
unless a caller asks: `with transaction(conn):` opens a transaction, commits it when the
block ends and rolls it back on any error. Inside an open transaction it becomes a
savepoint, so a catalog function that needs atomicity can be called on its own or as a
step of a caller's larger transaction, and its failure undoes only its own writes.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator

_savepoints = itertools.count(1)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = False
                ) -> Iterator[sqlite3.Connection]:
    """A transaction on `conn`, committed when the block ends, rolled back on any error.

    `immediate=True` takes the write lock at the start: a block that reads and then
    writes must, or a concurrent writer makes its first write fail with "database is
    locked" instead of waiting (the busy timeout only covers taking the lock up front).
    Read-only blocks leave it False: they then see one snapshot without blocking writers.
    Nested in an open transaction, the block is a savepoint of it (the lock is the outer
    transaction's).
    """
    if conn.in_transaction:
        with _savepoint(conn):
            yield conn
        return
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    name = f"illudex_{next(_savepoints)}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled the whole transaction back
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already done so: on a full disk
    (or an I/O error) it rolls back by itself, and a second ROLLBACK would raise
    "no transaction is active" in place of the error that matters."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
