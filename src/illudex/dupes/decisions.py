"""A person's word on a pair of pictures: remembered by content, so it survives renames."""

from __future__ import annotations

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
