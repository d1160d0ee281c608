"""Rows of the tag vocabulary: `tags`, `tag_aliases`, `tag_implications`,
`tag_translations`, as `illudex.tags.names` and `illudex.tags.vocabulary` read and change
them. Names come in already normalised; what they mean is decided in `tags/`.

A tag row is (id, name, category, image count); counts are kept by triggers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from illudex.catalog.idlists import IN_LIST, as_param

TagRow = tuple[int, str, str, int]
_TAG_COLUMNS = "t.id, t.name, t.category, t.image_count"


def _tag_row(row: Sequence) -> TagRow:
    return int(row[0]), row[1], row[2], int(row[3])


# -- tags ----------------------------------------------------------------------------


def tags_by_ids(conn: sqlite3.Connection, ids: Iterable[int]) -> list[TagRow]:
    """The tags with these ids (missing ids are left out)."""
    return [_tag_row(r) for r in conn.execute(
        f"SELECT {_TAG_COLUMNS} FROM tags t WHERE t.id IN {IN_LIST}", (as_param(ids),))]


def list_tags(
    conn: sqlite3.Connection, *, min_count: int, contains: str | None, category: str | None,
    by_name: bool, limit: int | None, offset: int,
) -> list[TagRow]:
    """Tags with at least `min_count` images, whose name holds `contains`, of `category`;
    most used first (or by name)."""
    where, params = ["t.image_count >= ?"], [min_count]
    if contains:
        where.append("instr(t.name, ?) > 0")
        params.append(contains)
    if category is not None:
        where.append("t.category = ?")
        params.append(category)
    order = "t.name" if by_name else "t.image_count DESC, t.name"
    return [_tag_row(r) for r in conn.execute(
        f"SELECT {_TAG_COLUMNS} FROM tags t WHERE {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, -1 if limit is None else limit, offset])]


def tag_named(conn: sqlite3.Connection, name: str) -> int | None:
    """The id of the tag with this exact name, or None."""
    row = conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else None


def name_and_category(conn: sqlite3.Connection, tag_id: int) -> tuple[str, str]:
    name, category = conn.execute(
        "SELECT name, category FROM tags WHERE id = ?", (tag_id,)).fetchone()
    return name, category


def insert_tag(conn: sqlite3.Connection, name: str, category: str) -> int:
    cur = conn.execute("INSERT INTO tags (name, category) VALUES (?, ?)", (name, category))
    return int(cur.lastrowid)


def pictures_with(conn: sqlite3.Connection, tag_id: int) -> int:
    """How many pictures carry the tag, from any source."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id = ?", (tag_id,)
    ).fetchone()
    return int(row[0])


def images_with(conn: sqlite3.Connection, tag_id: int) -> list[int]:
    """Ids of the images carrying the tag (any source), ascending."""
    return [int(r[0]) for r in conn.execute(
        "SELECT DISTINCT image_id FROM image_tags WHERE tag_id = ? ORDER BY image_id",
        (tag_id,))]


def source_counts(conn: sqlite3.Connection, tag_id: int) -> dict[str, int]:
    """Pictures carrying the tag per kind of source ('model:*' counted as 'model')."""
    return {r[0]: int(r[1]) for r in conn.execute(
        "SELECT CASE WHEN source LIKE 'model:%' THEN 'model' ELSE source END AS kind, "
        "COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id = ? GROUP BY kind",
        (tag_id,))}


def count_newly_matching(conn: sqlite3.Connection, sources: Iterable[int],
                         have: Iterable[int]) -> int:
    """Pictures carrying one of `sources` and none of `have`."""
    row = conn.execute(
        f"SELECT COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id IN {IN_LIST} "
        "AND image_id NOT IN (SELECT image_id FROM image_tags WHERE tag_id IN "
        f"{IN_LIST})", (as_param(sources), as_param(have))).fetchone()
    return int(row[0])


# -- aliases -------------------------------------------------------------------------


def alias_target(conn: sqlite3.Connection, alias: str) -> int | None:
    """The tag this alias means, or None."""
    row = conn.execute("SELECT tag_id FROM tag_aliases WHERE alias = ?", (alias,)).fetchone()
    return int(row[0]) if row else None


def aliases_of(conn: sqlite3.Connection, tag_id: int) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT alias FROM tag_aliases WHERE tag_id = ? ORDER BY alias", (tag_id,))]


def set_alias(conn: sqlite3.Connection, alias: str, tag_id: int) -> None:
    """Point `alias` at the tag (replacing what it meant before)."""
    conn.execute(
        "INSERT INTO tag_aliases (alias, tag_id) VALUES (?, ?) "
        "ON CONFLICT (alias) DO UPDATE SET tag_id = excluded.tag_id", (alias, tag_id))


def delete_alias(conn: sqlite3.Connection, alias: str) -> bool:
    return conn.execute("DELETE FROM tag_aliases WHERE alias = ?", (alias,)).rowcount > 0


def alias_elsewhere(conn: sqlite3.Connection, alias: str, tag_id: int) -> str | None:
    """The name of the tag `alias` means today when that is not `tag_id`, else None."""
    row = conn.execute(
        "SELECT t.name FROM tag_aliases a JOIN tags t ON t.id = a.tag_id "
        "WHERE a.alias = ? AND a.tag_id <> ?", (alias, tag_id)).fetchone()
    return row[0] if row else None


def alias_pairs(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (alias, canonical tag name), sorted by alias."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT a.alias, t.name FROM tag_aliases a JOIN tags t ON t.id = a.tag_id "
        "ORDER BY a.alias")]


# -- implications ----------------------------------------------------------------------


def closure(conn: sqlite3.Connection, seeds: Iterable[int], *, implied: bool) -> set[int]:
    """The seeds and every tag they imply (`implied`), or that implies one of them,
    transitively."""
    take, via = ("implied_id", "tag_id") if implied else ("tag_id", "implied_id")
    return {int(r[0]) for r in conn.execute(
        f"WITH RECURSIVE c(id) AS (SELECT value FROM json_each(?) UNION "
        f"SELECT i.{take} FROM tag_implications i JOIN c ON i.{via} = c.id) SELECT id FROM c",
        (as_param(sorted(set(seeds))),))}


def implies(conn: sqlite3.Connection, tag_id: int) -> list[str]:
    """Names of the tags this tag implies directly, sorted."""
    return [r[0] for r in conn.execute(
        "SELECT t.name FROM tag_implications i JOIN tags t ON t.id = i.implied_id "
        "WHERE i.tag_id = ? ORDER BY t.name", (tag_id,))]


def implied_by(conn: sqlite3.Connection, tag_id: int) -> list[str]:
    """Names of the tags that imply this tag directly, sorted."""
    return [r[0] for r in conn.execute(
        "SELECT t.name FROM tag_implications i JOIN tags t ON t.id = i.tag_id "
        "WHERE i.implied_id = ? ORDER BY t.name", (tag_id,))]


def insert_implication(conn: sqlite3.Connection, tag_id: int, implied_id: int) -> None:
    conn.execute("INSERT OR IGNORE INTO tag_implications (tag_id, implied_id) VALUES (?, ?)",
                 (tag_id, implied_id))


def delete_implication(conn: sqlite3.Connection, tag_id: int, implied_id: int) -> bool:
    return conn.execute("DELETE FROM tag_implications WHERE tag_id = ? AND implied_id = ?",
                        (tag_id, implied_id)).rowcount > 0


def implication_pairs(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every direct (tag, implied tag) by name, sorted."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT a.name, b.name FROM tag_implications i JOIN tags a ON a.id = i.tag_id "
        "JOIN tags b ON b.id = i.implied_id ORDER BY a.name, b.name")]


# -- translations ----------------------------------------------------------------------


def translation_targets(conn: sqlite3.Connection, name: str) -> list[int]:
    """Tags with this translated name, most used first."""
    return [int(r[0]) for r in conn.execute(
        "SELECT DISTINCT tt.tag_id FROM tag_translations tt JOIN tags t ON t.id = tt.tag_id "
        "WHERE tt.name = ? ORDER BY t.image_count DESC", (name,))]


def translations_of(conn: sqlite3.Connection, tag_id: int) -> list[tuple[str, str]]:
    """(lang, name) of the tag's translations, sorted."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT lang, name FROM tag_translations WHERE tag_id = ? ORDER BY lang, name",
        (tag_id,))]


def insert_translation(conn: sqlite3.Connection, tag_id: int, lang: str, name: str) -> None:
    conn.execute("INSERT OR IGNORE INTO tag_translations (tag_id, lang, name) VALUES (?, ?, ?)",
                 (tag_id, lang, name))


def delete_translation(conn: sqlite3.Connection, tag_id: int, lang: str, name: str) -> bool:
    return conn.execute(
        "DELETE FROM tag_translations WHERE tag_id = ? AND lang = ? AND name = ?",
        (tag_id, lang, name)).rowcount > 0


def translation_triples(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every (tag name, lang, translated name), sorted."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT t.name, tt.lang, tt.name FROM tag_translations tt "
        "JOIN tags t ON t.id = tt.tag_id ORDER BY t.name, tt.lang, tt.name")]
