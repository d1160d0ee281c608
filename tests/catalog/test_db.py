"""Opening a catalog: migrations run once, even when several processes open a new
library at the same moment; a full disk's error is the one reported."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from illudex.catalog import db
from illudex.catalog.db import connect
from illudex.catalog.schema import MIGRATIONS

PROCESSES = 6
ROUNDS = 8


def _open(path: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    connect(path).close()


def test_processes_opening_a_new_library_at_once_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for n in range(ROUNDS):
        path = str(tmp_path / f"{n}.db")
        barrier = ctx.Barrier(PROCESSES)
        procs = [ctx.Process(target=_open, args=(path, barrier)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * PROCESSES, f"round {n}"
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        conn.close()


def test_a_failed_commit_reports_its_own_error(tmp_path: Path) -> None:
    """SQLite may roll back by itself (a full disk does): the error that caused it is the
    one raised, not "cannot rollback - no transaction is active"."""
    conn = connect(tmp_path / "c.db")
    with pytest.raises(sqlite3.OperationalError, match="no such table"), \
            db.transaction(conn, immediate=True):
        conn.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL
        conn.execute("SELECT * FROM nowhere")
    db.rollback(conn)  # nothing open: nothing to do
    assert not conn.in_transaction
