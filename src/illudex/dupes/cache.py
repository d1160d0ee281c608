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
) -> list[Any]:
    """The relations stored under `key`, or `compute()`'s, stored for next time."""
    row = conn.execute("SELECT relations FROM dupe_cache WHERE fingerprint = ?", (key,)).fetchone()
    if row is not None:
        return [rebuild(d) for d in json.loads(row[0])]
    relations = compute()
    payload = json.dumps([dataclasses.asdict(r) for r in relations])
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR REPLACE INTO dupe_cache (fingerprint, relations, at) VALUES (?,?,?)",
            (key, payload, time.time()),
        )
        conn.execute(
            "DELETE FROM dupe_cache WHERE fingerprint NOT IN "
            "(SELECT fingerprint FROM dupe_cache ORDER BY at DESC LIMIT ?)", (KEEP_ENTRIES,)
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return relations
