"""Rows of `features`: what an analyser computed from an image's pixels at scan time
(the duplicate finder's thumbnails, the quality records), as versioned blobs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from illudex.catalog.idlists import IN_LIST, as_param


def store(conn: sqlite3.Connection, image_id: int,
          features: dict[str, tuple[int, bytes]]) -> None:
    """Write (or replace) an image's features: analyser name → (version, data)."""
    conn.executemany(
        "INSERT OR REPLACE INTO features (image_id, analyser, version, data) VALUES (?,?,?,?)",
        ((image_id, name, version, data) for name, (version, data) in features.items()),
    )


def versions(conn: sqlite3.Connection, analyser: str) -> dict[int, int]:
    """image id → the version of `analyser`'s stored feature."""
    return dict(conn.execute(
        "SELECT image_id, version FROM features WHERE analyser = ?", (analyser,)
    ).fetchall())


def data(conn: sqlite3.Connection, analyser: str, version: int,
         ids: Iterable[int] | None = None, prefix: int | None = None
         ) -> list[tuple[int, bytes]]:
    """(image id, data) of `analyser`'s features at `version`, ascending by id: every one,
    or those of `ids`. `prefix` reads only the first bytes of each (a header)."""
    column = "data" if prefix is None else f"substr(data, 1, {int(prefix)})"
    sql = f"SELECT image_id, {column} FROM features WHERE analyser = ? AND version = ?"
    params: tuple[object, ...] = (analyser, version)
    if ids is not None:
        sql += f" AND image_id IN {IN_LIST}"
        params += (as_param(ids),)
    return [(int(i), bytes(d)) for i, d in conn.execute(sql + " ORDER BY image_id", params)]
