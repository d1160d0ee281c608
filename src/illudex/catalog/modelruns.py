"""Rows of `model_runs`: which model has done which kind of work on which image, so that
a rerun skips it. A picture whose content changes loses its rows (catalog.images.upsert)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence


def done_ids(conn: sqlite3.Connection, model: str, kind: str) -> set[int]:
    """Images `model` has done `kind` ('tags' | 'embedding') for."""
    return {int(r[0]) for r in conn.execute(
        "SELECT image_id FROM model_runs WHERE model = ? AND kind = ?", (model, kind))}


def mark_done(conn: sqlite3.Connection, ids: Sequence[int], model: str,
              kinds: Sequence[str]) -> None:
    """Record that `model` did each of `kinds` on `ids` now."""
    now = time.time()
    conn.executemany(
        "INSERT OR REPLACE INTO model_runs (image_id, model, kind, at) VALUES (?, ?, ?, ?)",
        ((i, model, kind, now) for i in ids for kind in kinds),
    )
