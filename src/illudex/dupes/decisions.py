"""A person's word on a pair of pictures, and on which copy of a group to keep:
remembered by content (catalog.dupes), so it survives renames."""

from __future__ import annotations

import sqlite3

from illudex.catalog import dupes as rows
from illudex.errors import InvalidInput

RELATIONS = ("duplicate", "alternate", "not_duplicate")


def mark(conn: sqlite3.Connection, digest_a: str, digest_b: str, relation: str) -> None:
    if relation not in RELATIONS:
        raise InvalidInput(f"relation must be one of {', '.join(RELATIONS)}, not {relation!r}")
    if digest_a == digest_b:
        raise InvalidInput("these two files have the same content: they are exact duplicates")
    rows.set_decision(conn, digest_a, digest_b, relation)


def forget(conn: sqlite3.Connection, digest_a: str, digest_b: str) -> bool:
    return rows.delete_decision(conn, digest_a, digest_b)


def load_decisions(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    return rows.decisions(conn)


def choose_keeper(
    conn: sqlite3.Connection, digest: str, group_digests: list[str] | tuple[str, ...] = ()
) -> None:
    """Remember `digest` as the keeper of its group; a keeper chosen before for another
    copy of that group gives way."""
    rows.set_keeper(conn, digest, [d for d in group_digests if d != digest])


def forget_keeper(conn: sqlite3.Connection, digest: str) -> bool:
    return rows.delete_keeper(conn, digest)


def load_keepers(conn: sqlite3.Connection) -> dict[str, float]:
    """Chosen keepers: digest → when (the latest choice wins within a group)."""
    return rows.keepers(conn)
