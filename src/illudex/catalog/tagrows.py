"""Getting tag rows by name: the one place tag names are normalised and rows created."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from illudex.catalog.idlists import IN_LIST, as_param


def normalise(name: str) -> str:
    """Booru form: trimmed, lower case, inner spaces as underscores."""
    return "_".join(name.strip().lower().split())


def tag_ids(
    conn: sqlite3.Connection, names: Iterable[str], category: str | None = None
) -> dict[str, int]:
    """Ids of the tags named `names` (already normalised), creating missing rows.

    New rows get `category` (default 'general'); existing rows keep theirs unless a
    category is given and theirs is still the default.
    """
    wanted = list(dict.fromkeys(names))
    out: dict[str, int] = {}
    for row in conn.execute(f"SELECT id, name FROM tags WHERE name IN {IN_LIST}",
                            (as_param(wanted),)):
        out[row[1]] = row[0]
    missing = [n for n in wanted if n not in out]
    for name in missing:
        cur = conn.execute(
            "INSERT INTO tags (name, category) VALUES (?, ?)", (name, category or "general")
        )
        out[name] = int(cur.lastrowid)
    if category and category != "general":
        conn.executemany(
            "UPDATE tags SET category = ? WHERE id = ? AND category = 'general'",
            ((category, out[n]) for n in wanted if n not in missing),
        )
    return out


def ids_like(conn: sqlite3.Connection, pattern: str) -> list[int]:
    """Tags whose name, an alias or a translation matches the LIKE `pattern` (escape `\\`)."""
    rows = conn.execute(
        "SELECT id FROM tags WHERE name LIKE ?1 ESCAPE '\\' "
        "UNION SELECT tag_id FROM tag_aliases WHERE alias LIKE ?1 ESCAPE '\\' "
        "UNION SELECT tag_id FROM tag_translations WHERE name LIKE ?1 ESCAPE '\\'",
        (pattern,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def image_count_sum(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """The sum of these tags' image counts (an upper bound of the pictures holding any)."""
    row = conn.execute(f"SELECT COALESCE(SUM(image_count), 0) FROM tags WHERE id IN {IN_LIST}",
                       (as_param(ids),)).fetchone()
    return int(row[0])


def rating_ids(conn: sqlite3.Connection, prefixed: Sequence[str], names: Sequence[str]
               ) -> list[int]:
    """Tags named one of `prefixed` (rating:general), or of `names` in category rating."""
    rows = conn.execute(
        f"SELECT id FROM tags WHERE name IN {IN_LIST} "
        f"OR (category = 'rating' AND name IN {IN_LIST})", (as_param(prefixed), as_param(names)),
    ).fetchall()
    return [int(r[0]) for r in rows]


def names_and_categories(conn: sqlite3.Connection) -> dict[int, tuple[str, str]]:
    """tag id → (name, category) of every tag."""
    return {int(i): (n, c) for i, n, c in conn.execute("SELECT id, name, category FROM tags")}


def alias_links(conn: sqlite3.Connection) -> dict[int, int]:
    """tag id → the tag it is an alias of, for tags whose name is also an alias (a tag
    renamed or merged while images still held it)."""
    return {int(a): int(b) for a, b in conn.execute(
        "SELECT t.id, a.tag_id FROM tags t JOIN tag_aliases a ON a.alias = t.name "
        "WHERE t.id != a.tag_id")}


def all_tags(conn: sqlite3.Connection) -> list[tuple[int, str, str, int]]:
    """(id, name, category, image count) of every tag."""
    return [(int(r[0]), r[1], r[2], int(r[3]))
            for r in conn.execute("SELECT id, name, category, image_count FROM tags")]


def alias_rows(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(alias, tag id) of every alias."""
    return [(r[0], int(r[1])) for r in conn.execute("SELECT alias, tag_id FROM tag_aliases")]


def translation_rows(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(translated name, tag id), each pair once whatever its languages."""
    return [(r[0], int(r[1])) for r in conn.execute(
        "SELECT DISTINCT name, tag_id FROM tag_translations")]


def vocab_version(conn: sqlite3.Connection) -> int:
    """Bumped by triggers whenever tags, aliases, translations or implications change."""
    return int(conn.execute("SELECT vocab_version FROM search_state").fetchone()[0])


def set_category(conn: sqlite3.Connection, tag_id: int, category: str) -> None:
    conn.execute("UPDATE tags SET category = ? WHERE id = ?", (category, tag_id))


def by_image_count(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """(name, category, image count) of every tag, most used first, then by name."""
    return [(r[0], r[1], int(r[2])) for r in conn.execute(
        "SELECT name, category, image_count FROM tags ORDER BY image_count DESC, name")]


def by_name(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, category) of every tag, by name."""
    return [(r[0], r[1]) for r in conn.execute("SELECT name, category FROM tags ORDER BY name")]
