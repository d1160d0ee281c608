"""Rows the duplicate finder keeps: a person's decisions on pairs (`dupe_decisions`) and
chosen keepers (`dupe_keepers`), both by content digest so they survive renames; and the
finder's cached answers (`dupe_cache`, `dupe_keeper_cache`), by input fingerprint."""

from __future__ import annotations

import sqlite3
import time

from illudex.catalog.idlists import IN_LIST, as_param
from illudex.catalog.transaction import transaction

CACHE_TABLES = ("dupe_cache", "dupe_keeper_cache")


def set_decision(conn: sqlite3.Connection, digest_a: str, digest_b: str, relation: str) -> None:
    """Remember `relation` for the pair (in either order; the later word counts)."""
    a, b = sorted((digest_a, digest_b))
    conn.execute("INSERT OR REPLACE INTO dupe_decisions (digest_a, digest_b, relation, at) "
                 "VALUES (?, ?, ?, ?)", (a, b, relation, time.time()))


def delete_decision(conn: sqlite3.Connection, digest_a: str, digest_b: str) -> bool:
    """Forget the pair's decision; whether there was one."""
    a, b = sorted((digest_a, digest_b))
    cur = conn.execute("DELETE FROM dupe_decisions WHERE digest_a = ? AND digest_b = ?", (a, b))
    return cur.rowcount > 0


def decisions(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """(digest_a, digest_b) → relation, digest_a < digest_b."""
    return {(a, b): relation for a, b, relation in conn.execute(
        "SELECT digest_a, digest_b, relation FROM dupe_decisions")}


def set_keeper(conn: sqlite3.Connection, digest: str, others: list[str]) -> None:
    """`digest` is its group's keeper; the keepers chosen before among `others` give way
    (in one transaction: a group never has two)."""
    with transaction(conn, immediate=True):
        conn.execute(f"DELETE FROM dupe_keepers WHERE digest IN {IN_LIST}", (as_param(others),))
        conn.execute("INSERT OR REPLACE INTO dupe_keepers (digest, at) VALUES (?, ?)",
                     (digest, time.time()))


def delete_keeper(conn: sqlite3.Connection, digest: str) -> bool:
    return conn.execute("DELETE FROM dupe_keepers WHERE digest = ?", (digest,)).rowcount > 0


def keepers(conn: sqlite3.Connection) -> dict[str, float]:
    """Chosen keepers: digest → when."""
    return dict(conn.execute("SELECT digest, at FROM dupe_keepers"))


def cached_answer(conn: sqlite3.Connection, table: str, key: str) -> str | None:
    """The JSON stored under `key` in one of CACHE_TABLES, or None."""
    row = conn.execute(f"SELECT relations FROM {_cache(table)} WHERE fingerprint = ?",
                       (key,)).fetchone()
    return None if row is None else str(row[0])


def store_answer(conn: sqlite3.Connection, table: str, key: str, payload: str,
                 keep: int) -> None:
    """Store `payload` under `key`, keeping the `keep` newest entries of the table."""
    table = _cache(table)
    with transaction(conn, immediate=True):
        conn.execute(f"INSERT OR REPLACE INTO {table} (fingerprint, relations, at) "
                     "VALUES (?, ?, ?)", (key, payload, time.time()))
        conn.execute(f"DELETE FROM {table} WHERE fingerprint NOT IN "
                     f"(SELECT fingerprint FROM {table} ORDER BY at DESC LIMIT ?)", (keep,))


def _cache(table: str) -> str:
    if table not in CACHE_TABLES:
        raise ValueError(f"not a duplicate cache table: {table!r}")
    return table
