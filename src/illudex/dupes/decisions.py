"""A person's word on a pair of pictures, and on which copy of a group to keep:
remembered by content, so it survives renames."""

from __future__ import annotations

import json
import sqlite3
import time

RELATIONS = ("duplicate", "alternate", "not_duplicate")


def mark(conn: sqlite3.Connection, digest_a: str, digest_b: str, relation: str) -> None:
    if relation not in RELATIONS:
        raise ValueError(f"relation must be one of {', '.join(RELATIONS)}, not {relation!r}")
    if digest_a == digest_b:
        raise ValueError("these two files have the same content: they are exact duplicates")
    a, b = sorted((digest_a, digest_b))
    conn.execute(
        "INSERT OR REPLACE INTO dupe_decisions (digest_a, digest_b, relation, at) "
        "VALUES (?, ?, ?, ?)",
        (a, b, relation, time.time()),
    )


def forget(conn: sqlite3.Connection, digest_a: str, digest_b: str) -> bool:
    a, b = sorted((digest_a, digest_b))
    cur = conn.execute(
        "DELETE FROM dupe_decisions WHERE digest_a = ? AND digest_b = ?", (a, b)
    )
    return cur.rowcount > 0


def load_decisions(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    return {
        (a, b): relation
        for a, b, relation in conn.execute(
            "SELECT digest_a, digest_b, relation FROM dupe_decisions"
        )
    }


def choose_keeper(
    conn: sqlite3.Connection, digest: str, group_digests: list[str] | tuple[str, ...] = ()
) -> None:
    """Remember `digest` as the keeper of its group; a keeper chosen before for another
    copy of that group gives way."""
    others = [d for d in group_digests if d != digest]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "DELETE FROM dupe_keepers WHERE digest IN (SELECT value FROM json_each(?))",
            (json.dumps(others),),
        )
        conn.execute("INSERT OR REPLACE INTO dupe_keepers (digest, at) VALUES (?, ?)",
                     (digest, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def forget_keeper(conn: sqlite3.Connection, digest: str) -> bool:
    return conn.execute("DELETE FROM dupe_keepers WHERE digest = ?", (digest,)).rowcount > 0


def load_keepers(conn: sqlite3.Connection) -> dict[str, float]:
    """Chosen keepers: digest → when (the latest choice wins within a group)."""
    return dict(conn.execute("SELECT digest, at FROM dupe_keepers"))
