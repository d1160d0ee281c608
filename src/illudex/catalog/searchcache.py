"""Search's caches in the catalog: posting lists (`tag_postings`), image columns
(`image_columns`) and the versions that tell when they are stale (`search_state`,
`tags.generation`), all kept current by the triggers of migration 2.

The caches are never the source of truth: a stale or missing row is rebuilt by search
(from `image_tags` and `images`, read here), and writing one back is skipped rather than
waited for when another process holds the write lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from illudex.catalog.idlists import IN_LIST, as_param
from illudex.catalog.transaction import transaction

ALL_IMAGES = 0  # tag_postings row holding every image id (present in a library folder)


def versions(conn: sqlite3.Connection) -> tuple[int, int]:
    """(images_version, tagging_version) of `search_state`."""
    row = conn.execute("SELECT images_version, tagging_version FROM search_state").fetchone()
    return int(row[0]), int(row[1])


def generations(conn: sqlite3.Connection, tag_ids: Iterable[int]) -> dict[int, int]:
    """tag id → its current generation (ALL_IMAGES: the images version); deleted tags are
    absent."""
    wanted = list(tag_ids)
    out: dict[int, int] = {}
    if ALL_IMAGES in wanted:
        out[ALL_IMAGES] = versions(conn)[0]
    rows = conn.execute(f"SELECT id, generation FROM tags WHERE id IN {IN_LIST}",
                        (as_param(t for t in wanted if t != ALL_IMAGES),))
    out.update((int(r[0]), int(r[1])) for r in rows)
    return out


def cached_postings(conn: sqlite3.Connection, tag_ids: Iterable[int]
                    ) -> dict[int, tuple[int, bytes]]:
    """tag id → (generation, sorted int64 ids as bytes) of the cached posting lists."""
    rows = conn.execute(f"SELECT tag_id, generation, ids FROM tag_postings "
                        f"WHERE tag_id IN {IN_LIST}", (as_param(tag_ids),))
    return {int(r[0]): (int(r[1]), r[2]) for r in rows}


def posting(conn: sqlite3.Connection, tag_id: int) -> tuple[int, list[int]]:
    """(generation, image ids, unsorted) of one tag, read from the source tables in one
    snapshot; -1 as generation when the tag no longer exists."""
    with transaction(conn):
        generation = generations(conn, [tag_id]).get(tag_id, -1)
        cur = _plain_cursor(conn)
        if tag_id == ALL_IMAGES:
            # Pictures moved out of every library folder (trash) keep their rows for undo,
            # but are no longer part of the collection.
            rows = cur.execute("SELECT id FROM images WHERE folder_id IS NOT NULL").fetchall()
        else:
            rows = cur.execute("SELECT DISTINCT image_id FROM image_tags WHERE tag_id = ?",
                               (tag_id,)).fetchall()
    return generation, [r[0] for r in rows]


def store_postings(conn: sqlite3.Connection, rows: Sequence[tuple[int, int, bytes]]) -> None:
    """Cache (tag id, generation, ids bytes) rows, if the catalog can be written now."""
    _write_nowait(conn, "INSERT OR REPLACE INTO tag_postings (tag_id, generation, ids) "
                  "VALUES (?, ?, ?)", rows)


def cached_columns(conn: sqlite3.Connection, names: Iterable[str]
                   ) -> dict[str, tuple[int, bytes]]:
    """name → (generation, array bytes) of the cached image columns."""
    rows = conn.execute(f"SELECT name, generation, data FROM image_columns "
                        f"WHERE name IN {IN_LIST}", (as_param(sorted(names)),))
    return {r[0]: (int(r[1]), r[2]) for r in rows}


def column_rows(conn: sqlite3.Connection, select: str) -> tuple[int, list[tuple]]:
    """(images_version, rows of `SELECT {select} FROM images i ORDER BY i.id`), read in one
    snapshot. `select` is search's own column list, never user text."""
    with transaction(conn):
        version = versions(conn)[0]
        rows = _plain_cursor(conn).execute(
            f"SELECT {select} FROM images i ORDER BY i.id").fetchall()
    return version, rows


def tag_count_rows(conn: sqlite3.Connection) -> list[tuple[int, int]]:
    """(image id, distinct tags) of every image that has a tag."""
    return _plain_cursor(conn).execute(
        "SELECT image_id, COUNT(DISTINCT tag_id) FROM image_tags GROUP BY image_id").fetchall()


def store_columns(conn: sqlite3.Connection, rows: Sequence[tuple[str, int, bytes]]) -> None:
    """Cache (name, generation, array bytes) rows, if the catalog can be written now."""
    _write_nowait(conn, "INSERT OR REPLACE INTO image_columns (name, generation, data) "
                  "VALUES (?, ?, ?)", rows)


def _plain_cursor(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor yielding tuples: rows by the hundred thousand build faster without Row."""
    cur = conn.cursor()
    cur.row_factory = None
    return cur


def _write_nowait(conn: sqlite3.Connection, sql: str, rows: Sequence[tuple]) -> None:
    """Save cache rows if the catalog can be written right now; never wait for it (and
    never inside a caller's transaction, which may be read-only or long)."""
    if not rows or conn.in_transaction:
        return
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        with transaction(conn, immediate=True):
            conn.executemany(sql, rows)
    except sqlite3.OperationalError:  # busy, locked or read-only: the cache can wait
        pass
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout)}")
