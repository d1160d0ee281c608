"""Rows of `image_tags` written or read per source ('sidecar', 'user', 'model:NAME'):
a model's or a caption file's tags of an image are replaced as a whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from illudex.catalog.idlists import IN_LIST, as_param


def replace_source(conn: sqlite3.Connection, source: str, image_ids: Sequence[int],
                   rows: Iterable[tuple[int, int, float | None]]) -> None:
    """Drop `source`'s tags of `image_ids`, then write `rows` (image id, tag id, score)
    for it; the caller holds the transaction."""
    conn.executemany("DELETE FROM image_tags WHERE image_id = ? AND source = ?",
                     ((i, source) for i in image_ids))
    conn.executemany(
        "INSERT OR REPLACE INTO image_tags (image_id, tag_id, source, score) "
        "VALUES (?, ?, ?, ?)", ((i, t, source, s) for i, t, s in rows))


def of_source(conn: sqlite3.Connection, image_id: int, source: str
              ) -> list[tuple[str, str, float | None]]:
    """(tag name, category, score) of one image's tags from `source`, best score first."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT t.name, t.category, it.score FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ? AND it.source = ? ORDER BY it.score DESC", (image_id, source))]


def of_image(conn: sqlite3.Connection, image_id: int
             ) -> list[tuple[str, str, str, float | None]]:
    """(name, category, source, score) of all one image's tags: by category, best first."""
    return [(r[0], r[1], r[2], r[3]) for r in conn.execute(
        "SELECT t.name, t.category, it.source, it.score FROM image_tags it "
        "JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ? "
        "ORDER BY t.category, it.score DESC, t.name", (image_id,))]


def tag_counts(conn: sqlite3.Connection, image_ids: Iterable[int]) -> dict[int, int]:
    """image id → how many distinct tags it has (from any source); tagless images absent."""
    return {int(i): int(n) for i, n in conn.execute(
        f"SELECT image_id, COUNT(DISTINCT tag_id) FROM image_tags WHERE image_id IN {IN_LIST} "
        "GROUP BY image_id", (as_param(image_ids),))}


def pairs(conn: sqlite3.Connection, image_ids: Iterable[int], min_score: float | None = None
          ) -> list[tuple[int, int]]:
    """(image id, tag id) of every tag of `image_ids`, one per source; with `min_score`,
    model tags scored below it are left out (people's tags, score NULL, always count)."""
    sql = f"SELECT image_id, tag_id FROM image_tags WHERE image_id IN {IN_LIST}"
    params: tuple[object, ...] = (as_param(image_ids),)
    if min_score is not None:
        sql += " AND (score IS NULL OR score >= ?)"
        params += (min_score,)
    return [(int(i), int(t)) for i, t in conn.execute(sql, params)]


def images_with(conn: sqlite3.Connection, tag_id: int, sources: Sequence[str]) -> set[int]:
    """Images that hold `tag_id` from one of `sources`."""
    return {int(r[0]) for r in conn.execute(
        f"SELECT DISTINCT image_id FROM image_tags WHERE tag_id = ? AND source IN {IN_LIST}",
        (tag_id, as_param(sources)))}


def caption_names(
    conn: sqlite3.Connection, image_ids: Iterable[int], category_order: Sequence[str], *,
    include_rating: bool, min_model_score: float | None,
) -> list[tuple[int, str]]:
    """(image id, tag name) for caption files: people's, sidecar and model tags (model
    ones from `min_model_score`; ratings on request), by image, then in `category_order`,
    people's tags first, then by model confidence, then by name (illudex.tags.edits)."""
    rank = " ".join(f"WHEN '{c}' THEN {n}" for n, c in enumerate(category_order))
    rows = conn.execute(
        "SELECT it.image_id, t.name, t.category, "
        "MAX(CASE WHEN it.source LIKE 'model:%' THEN it.score ELSE 2.0 END) AS weight "
        "FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        f"WHERE it.image_id IN {IN_LIST} "
        "AND (it.source IN ('user', 'sidecar') OR (it.source LIKE 'model:%' "
        "AND (? IS NULL OR it.score IS NULL OR it.score >= ?))) "
        "AND (? OR t.category <> 'rating') "
        f"GROUP BY it.image_id, t.id ORDER BY it.image_id, CASE t.category {rank} ELSE 9 END, "
        "weight DESC, t.name",
        (as_param(image_ids), min_model_score, min_model_score, int(include_rating)),
    ).fetchall()
    return [(int(r[0]), r[1]) for r in rows]
