"""Helpers for tag and search tests: a real catalog with images and tagged rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from illudex.catalog.db import connect
from illudex.tags.vocabulary import ensure_tag


def new_catalog(tmp_path: Path) -> sqlite3.Connection:
    return connect(tmp_path / "c.db")


def add_image(
    conn: sqlite3.Connection,
    path: str,
    tags: dict[str, float | None] | list[str] = (),
    *,
    source: str = "sidecar",
    width: int = 1000,
    height: int = 1000,
    size: int = 100_000,
    fmt: str = "PNG",
    added_at: float = 0.0,
) -> int:
    """Insert one image row and its tags (name -> score, or names with score NULL)."""
    # Rows belong to a library folder, as scanned pictures do (rows outside every folder
    # are trashed pictures kept for undo, which search leaves out).
    conn.execute("INSERT OR IGNORE INTO folders (id, path, added_at) VALUES (1, '/', 0)")
    cur = conn.execute(
        "INSERT INTO images (path, size, mtime_ns, digest, width, height, format, added_at,"
        " scanned_at, folder_id) VALUES (?, ?, 0, ?, ?, ?, ?, ?, 0, 1)",
        (path, size, path, width, height, fmt, added_at),
    )
    image_id = int(cur.lastrowid)
    items = tags.items() if isinstance(tags, dict) else ((t, None) for t in tags)
    for name, score in items:
        tag_id = ensure_tag(conn, name)
        conn.execute(
            "INSERT INTO image_tags (image_id, tag_id, source, score) VALUES (?, ?, ?, ?)",
            (image_id, tag_id, source, score),
        )
    return image_id


def image_tag_names(conn: sqlite3.Connection, image_id: int) -> set[str]:
    rows = conn.execute(
        "SELECT DISTINCT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ?",
        (image_id,),
    ).fetchall()
    return {r[0] for r in rows}
