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
from collections.abc import Callable, Sequence
from typing import Any

from illudex.catalog import dupes as dupe_rows
from illudex.catalog.db import is_disk_full

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
    stored = dupe_rows.cached_answer(conn, table, key)
    if stored is not None:
        return [rebuild(d) for d in json.loads(stored)]
    relations = compute()
    # Flat records: their fields as they are (asdict's deep copies cost 0.1 s a run).
    payload = json.dumps([{f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
                          for r in relations])
    try:
        dupe_rows.store_answer(conn, table, key, payload, KEEP_ENTRIES)
    except sqlite3.Error as e:
        if not is_disk_full(e):
            raise
        # The answer stands; only the shortcut for next time is lost.
    return relations
