"""Remembering the engine's answer: a re-run over unchanged pictures answers at once.

The key is a fingerprint of everything the answer depends on: the engine and feature
versions, the threshold, and which pictures (by id and content digest) took part.
Decisions are not part of it: they are applied after, on every run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

from illudex.catalog.db import is_disk_full, rollback

KEEP_ENTRIES = 8


def fingerprint(
    versions: Sequence[object], threshold: float, items: Sequence[tuple[int, str]]
) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([list(map(str, versions)), round(threshold, 6)]).encode())
    for image_id, digest in sorted(items):
        h.update(f"{image_id}:{digest};".encode())
    return h.hexdigest()


def cached(
    conn: sqlite3.Connection,
    key: str,
    compute: Callable[[], list[Any]],
    rebuild: Callable[[dict[str, Any]], Any],
    table: str = "dupe_cache",  # or "dupe_keeper_cache": the keepers' verdicts
) -> list[Any]:
    """The relations stored under `key`, or `compute()`'s, stored for next time."""
    assert table in ("dupe_cache", "dupe_keeper_cache")
    row = conn.execute(f"SELECT relations FROM {table} WHERE fingerprint = ?", (key,)).fetchone()
    if row is not None:
        return [rebuild(d) for d in json.loads(row[0])]
    relations = compute()
    payload = json.dumps([dataclasses.asdict(r) for r in relations])
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"INSERT OR REPLACE INTO {table} (fingerprint, relations, at) VALUES (?,?,?)",
            (key, payload, time.time()),
        )
        conn.execute(
            f"DELETE FROM {table} WHERE fingerprint NOT IN "
            f"(SELECT fingerprint FROM {table} ORDER BY at DESC LIMIT ?)", (KEEP_ENTRIES,)
        )
        conn.execute("COMMIT")
    except sqlite3.Error as e:
        rollback(conn)  # SQLite may have rolled back by itself (a full disk does)
        if not is_disk_full(e):
            raise
        # The answer stands; only the shortcut for next time is lost.
    except BaseException:
        rollback(conn)
        raise
    return relations
