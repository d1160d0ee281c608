"""The catalog's one transaction helper: commits, rolls back, nests as a savepoint, and
takes the write lock up front only when asked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from illudex.catalog.db import connect
from illudex.catalog.transaction import transaction


def _folders(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT path FROM folders ORDER BY path")]


def _add(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("INSERT INTO folders (path, added_at) VALUES (?, 0)", (path,))


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = connect(tmp_path / "c.db")
    yield c
    c.close()


def test_a_block_commits_or_rolls_back_as_a_whole(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        _add(conn, "/a")
    with pytest.raises(RuntimeError), transaction(conn):
        _add(conn, "/b")
        raise RuntimeError("stop")
    assert _folders(conn) == ["/a"] and not conn.in_transaction


def test_a_nested_block_is_a_savepoint_of_the_outer_one(conn: sqlite3.Connection) -> None:
    with transaction(conn, immediate=True):
        _add(conn, "/a")
        with pytest.raises(RuntimeError), transaction(conn, immediate=True):
            _add(conn, "/b")
            raise RuntimeError("only this step fails")
        with transaction(conn):
            _add(conn, "/c")
        assert conn.in_transaction  # the inner blocks neither committed nor ended it
    assert _folders(conn) == ["/a", "/c"]


def test_an_error_in_the_outer_block_undoes_what_inner_blocks_did(
        conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), transaction(conn):
        with transaction(conn):
            _add(conn, "/a")
        raise RuntimeError("stop")
    assert _folders(conn) == []


def test_a_rollback_by_sqlite_itself_leaves_the_real_error(conn: sqlite3.Connection) -> None:
    """On a full disk SQLite rolls the whole transaction back: the savepoint must not then
    raise "no such savepoint" in place of the error that matters."""
    with pytest.raises(sqlite3.OperationalError, match="no such table"), \
            transaction(conn), transaction(conn):
        conn.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL
        conn.execute("SELECT * FROM nowhere")
    assert not conn.in_transaction


def test_immediate_takes_the_write_lock_at_once(tmp_path: Path) -> None:
    first, second = connect(tmp_path / "c.db"), connect(tmp_path / "c.db")
    second.execute("PRAGMA busy_timeout = 0")
    with transaction(first):  # deferred: a reader, no lock on writes
        first.execute("SELECT COUNT(*) FROM folders").fetchone()
        _add(second, "/written-meanwhile")
    with transaction(first, immediate=True), \
            pytest.raises(sqlite3.OperationalError, match="locked"):
        _add(second, "/blocked")
    assert _folders(first) == ["/written-meanwhile"]
    first.close()
    second.close()
