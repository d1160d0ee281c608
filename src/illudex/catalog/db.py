"""Opening a catalog: one SQLite file in WAL mode, migrated to the current schema."""

from __future__ import annotations

import errno
import sqlite3
import time
from pathlib import Path

from illudex.catalog.schema import MIGRATIONS
from illudex.catalog.transaction import rollback, transaction

__all__ = ["catalog_path", "connect", "is_disk_full", "migrate", "rollback", "transaction"]


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the catalog at `path`, migrated to the latest schema."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    _set_wal(conn)
    # NORMAL in WAL mode survives a killed process; only an OS crash can lose the last commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")
    migrate(conn)
    return conn


def _set_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Switch a catalog to WAL mode. On a new file the switch needs the file to itself,
    and SQLite answers "database is locked" at once, without waiting, while another
    process opening it holds a lock: try again for a while."""
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date. Two processes may open a new catalog at once: the
    version is read again under the write lock, so each migration runs exactly once."""
    if _version(conn) == len(MIGRATIONS):
        return  # the common case: no lock taken
    with transaction(conn, immediate=True):
        version = _version(conn)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")


def _version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"this catalog has schema version {version}, newer than this illudex "
            f"({len(MIGRATIONS)}): upgrade illudex"
        )
    return version


def is_disk_full(error: BaseException) -> bool:
    """A write failed for want of space: SQLite's SQLITE_FULL, or ENOSPC/EDQUOT from the OS."""
    if isinstance(error, sqlite3.Error):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or \
            "database or disk is full" in str(error)
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line)
        candidate = "\n".join(buf)
        if sqlite3.complete_statement(candidate):
            out.append(candidate)
            buf = []
    return [s for s in out if s.strip()]


def catalog_path(conn: sqlite3.Connection) -> str:
    """The file of the connection's main database ('' for an in-memory one)."""
    return next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
