"""The tag vocabulary: tags with categories and counts, aliases, implications, translations.

Names are kept in booru form (lower case, spaces as underscores, trimmed). An alias is
another name for one canonical tag; aliases always point at the final tag (adding an
alias of an alias resolves it, merging a tag repoints its aliases), so lookups take one
step, and a chain that would loop is refused. An implication `a -> b` says every image
tagged `a` is also `b` (`zero_suit_samus -> samus_aran -> metroid`); search applies them
at query time, `illudex.tags.edits.apply_implications` writes them onto images.
Translations are names in other languages (`艦これ`, `舰队收藏`), searchable like aliases.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from illudex.catalog.tagrows import normalise
from illudex.tags.history import EditRecorder, TagEditError, start_edit, transaction

CATEGORIES = ("general", "character", "copyright", "artist", "meta", "rating")
# Danbooru's numeric categories, as found in its CSV exports.
DANBOORU_CATEGORIES = {0: "general", 1: "artist", 3: "copyright", 4: "character", 5: "meta"}
SOURCE_KINDS = ("user", "sidecar", "model", "implied")


class VocabularyError(TagEditError):
    """A vocabulary change that cannot be made (bad name, cycle, unknown tag ...)."""


@dataclass(frozen=True)
class Tag:
    """A canonical tag and the number of images that carry it (from any source)."""

    id: int
    name: str
    category: str
    count: int


@dataclass(frozen=True)
class TagDetail:
    """Everything the vocabulary knows about one tag."""

    tag: Tag
    aliases: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()  # direct implications: tag -> these
    implied_by: tuple[str, ...] = ()  # direct: these -> tag
    translations: tuple[tuple[str, str], ...] = ()  # (lang, name)
    sources: dict[str, int] = field(default_factory=dict)  # 'user'|'sidecar'|'model'|... -> n


def normalize_tag(name: str) -> str:
    """Booru form of a name: trimmed, lower case, runs of spaces as one underscore.

    Raises VocabularyError for a name that is empty once trimmed.
    """
    out = normalise(name)
    if not out:
        raise VocabularyError(f"empty tag name {name!r}: give at least one character")
    return out


def check_category(category: str) -> str:
    """A valid category name, or VocabularyError listing the valid ones."""
    value = category.strip().lower()
    if value.isdigit() and int(value) in DANBOORU_CATEGORIES:
        return DANBOORU_CATEGORIES[int(value)]
    if value not in CATEGORIES:
        raise VocabularyError(f"unknown tag category {category!r}: use one of {CATEGORIES}")
    return value


# -- reading -------------------------------------------------------------------------


def _tag(row: Sequence) -> Tag:
    return Tag(int(row[0]), row[1], row[2], int(row[3]))


_TAG_COLUMNS = "t.id, t.name, t.category, t.image_count"


def list_tags(
    conn: sqlite3.Connection,
    *,
    category: str | None = None,
    min_count: int = 0,
    contains: str | None = None,
    order: str = "count",
    limit: int | None = None,
    offset: int = 0,
) -> list[Tag]:
    """Tags, most used first (order='count') or by name (order='name').

    `contains` keeps the tags whose name holds that text anywhere (booru form).
    """
    where, params = ["t.image_count >= ?"], [min_count]
    if contains and normalise(contains):
        where.append("instr(t.name, ?) > 0")
        params.append(normalise(contains))
    if category is not None:
        where.append("t.category = ?")
        params.append(check_category(category))
    if order not in ("count", "name"):
        raise VocabularyError(f"unknown tag order {order!r}: use 'count' or 'name'")
    order_sql = "t.image_count DESC, t.name" if order == "count" else "t.name"
    rows = conn.execute(
        f"SELECT {_TAG_COLUMNS} FROM tags t WHERE {' AND '.join(where)} "
        f"ORDER BY {order_sql} LIMIT ? OFFSET ?",
        [*params, -1 if limit is None else limit, offset],
    ).fetchall()
    return [_tag(r) for r in rows]


def tags_by_id(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, Tag]:
    """The tags with these ids (missing ids are left out)."""
    wanted = list(dict.fromkeys(ids))
    out: dict[int, Tag] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT {_TAG_COLUMNS} FROM tags t WHERE id IN ({marks})", chunk):
            out[int(row[0])] = _tag(row)
    return out


def resolve_ids(conn: sqlite3.Connection, name: str) -> list[int]:
    """Canonical tag ids a name means: the tag itself, an alias's tag, or translations' tags.

    Usually one id; a translation shared by several tags gives all of them (most used
    first); an unknown name gives [].
    """
    key = normalise(name)
    if not key:
        return []
    row = conn.execute("SELECT id FROM tags WHERE name = ?", (key,)).fetchone()
    if row:
        return [int(row[0])]
    row = conn.execute("SELECT tag_id FROM tag_aliases WHERE alias = ?", (key,)).fetchone()
    if row:
        return [int(row[0])]
    rows = conn.execute(
        "SELECT DISTINCT tt.tag_id FROM tag_translations tt JOIN tags t ON t.id = tt.tag_id "
        "WHERE tt.name = ? ORDER BY t.image_count DESC",
        (key,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def resolve(conn: sqlite3.Connection, name: str) -> Tag | None:
    """The canonical tag a name (tag, alias or translation) means, or None."""
    ids = resolve_ids(conn, name)
    return tags_by_id(conn, ids[:1]).get(ids[0]) if ids else None


def get_tag(conn: sqlite3.Connection, name_or_id: str | int) -> TagDetail | None:
    """Full detail of a tag given by id, name, alias or translation; None if unknown."""
    if isinstance(name_or_id, int):
        tag = tags_by_id(conn, [name_or_id]).get(name_or_id)
    else:
        tag = resolve(conn, name_or_id)
    if tag is None:
        return None
    one = (tag.id,)
    aliases = conn.execute(
        "SELECT alias FROM tag_aliases WHERE tag_id = ? ORDER BY alias", one
    ).fetchall()
    implies = conn.execute(
        "SELECT t.name FROM tag_implications i JOIN tags t ON t.id = i.implied_id "
        "WHERE i.tag_id = ? ORDER BY t.name",
        one,
    ).fetchall()
    implied_by = conn.execute(
        "SELECT t.name FROM tag_implications i JOIN tags t ON t.id = i.tag_id "
        "WHERE i.implied_id = ? ORDER BY t.name",
        one,
    ).fetchall()
    translations = conn.execute(
        "SELECT lang, name FROM tag_translations WHERE tag_id = ? ORDER BY lang, name", one
    ).fetchall()
    sources = conn.execute(
        "SELECT CASE WHEN source LIKE 'model:%' THEN 'model' ELSE source END AS kind, "
        "COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id = ? GROUP BY kind",
        one,
    ).fetchall()
    return TagDetail(
        tag=tag,
        aliases=tuple(r[0] for r in aliases),
        implies=tuple(r[0] for r in implies),
        implied_by=tuple(r[0] for r in implied_by),
        translations=tuple((r[0], r[1]) for r in translations),
        sources={r[0]: int(r[1]) for r in sources},
    )


# -- tags ----------------------------------------------------------------------------


def ensure_tag(
    conn: sqlite3.Connection,
    name: str,
    category: str | None = None,
    *,
    recorder: EditRecorder | None = None,
) -> int:
    """Id of the canonical tag `name` means (through aliases), creating it if unknown.

    A new tag gets `category` (default general); an existing one keeps its own.
    """
    ids = resolve_ids(conn, name)
    if ids:
        return ids[0]
    row = {"name": normalize_tag(name), "category": check_category(category or "general")}
    cur = conn.execute("INSERT INTO tags (name, category) VALUES (?, ?)", tuple(row.values()))
    row["id"] = int(cur.lastrowid)
    if recorder is not None:
        recorder.vocab("+", "tags", row)
    return row["id"]


def require_tag(conn: sqlite3.Connection, name: str) -> int:
    """Id of the tag `name` means, or VocabularyError naming it."""
    ids = resolve_ids(conn, name)
    if not ids:
        raise VocabularyError(f"no tag named {name!r}: check the spelling with tags.lookup.find")
    return ids[0]


def set_category(conn: sqlite3.Connection, name: str, category: str) -> Tag:
    """Set a tag's category; returns the updated tag."""
    tag_id = require_tag(conn, name)
    conn.execute("UPDATE tags SET category = ? WHERE id = ?", (check_category(category), tag_id))
    return tags_by_id(conn, [tag_id])[tag_id]


# -- aliases -------------------------------------------------------------------------


def add_alias(conn: sqlite3.Connection, alias: str, target: str) -> int | None:
    """Make `alias` another name for the tag `target` means (created if unknown).

    If `alias` is itself a tag, that tag is merged into the target (its images retagged,
    its aliases, implications and translations moved), as a booru alias does; the merge is
    an undoable tag edit whose id is returned. Otherwise returns None.
    Raises VocabularyError for a loop (`a -> b` when `b` already means `a`).
    """
    name = normalize_tag(alias)
    with transaction(conn):
        target_ids = resolve_ids(conn, target)
        target_id = target_ids[0] if target_ids else ensure_tag(conn, target)
        target_name = conn.execute("SELECT name FROM tags WHERE id = ?", (target_id,)).fetchone()
        if name == target_name[0]:
            raise VocabularyError(
                f"alias loop: {target!r} already means {name!r}; "
                f"an alias {name!r} -> {target!r} would point back at itself"
            )
        if conn.execute("SELECT 1 FROM tags WHERE name = ?", (name,)).fetchone():
            from illudex.tags.edits import merge_tags  # merging is an undoable batch edit

            return merge_tags(conn, target_name[0], name)
        conn.execute(
            "INSERT INTO tag_aliases (alias, tag_id) VALUES (?, ?) "
            "ON CONFLICT (alias) DO UPDATE SET tag_id = excluded.tag_id",
            (name, target_id),
        )
    return None


def remove_alias(conn: sqlite3.Connection, alias: str) -> bool:
    """Forget an alias; True if there was one."""
    cur = conn.execute("DELETE FROM tag_aliases WHERE alias = ?", (normalise(alias),))
    return cur.rowcount > 0


def list_aliases(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (alias, canonical tag name), sorted by alias."""
    rows = conn.execute(
        "SELECT a.alias, t.name FROM tag_aliases a JOIN tags t ON t.id = a.tag_id ORDER BY a.alias"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


# -- implications ----------------------------------------------------------------------


def implied_closure(conn: sqlite3.Connection, tag_ids: Iterable[int]) -> set[int]:
    """These tags and every tag they imply, transitively."""
    return _closure(conn, tag_ids, "implied_id", "tag_id")


def implying_closure(conn: sqlite3.Connection, tag_ids: Iterable[int]) -> set[int]:
    """These tags and every tag that implies one of them, transitively."""
    return _closure(conn, tag_ids, "tag_id", "implied_id")


def _closure(conn: sqlite3.Connection, tag_ids: Iterable[int], take: str, via: str) -> set[int]:
    seeds = sorted(set(tag_ids))
    if not seeds:
        return set()
    rows = conn.execute(
        "WITH RECURSIVE c(id) AS (SELECT value FROM json_each(?) UNION "
        f"SELECT i.{take} FROM tag_implications i JOIN c ON i.{via} = c.id) SELECT id FROM c",
        (json.dumps(seeds),),
    ).fetchall()
    return {int(r[0]) for r in rows}


def add_implication(conn: sqlite3.Connection, name: str, implied: str) -> None:
    """Record that every image tagged `name` is also `implied` (tags created if unknown).

    Raises VocabularyError when `implied` already implies `name` (a loop) or they are one tag.
    """
    with transaction(conn):
        tag_id, implied_id = ensure_tag(conn, name), ensure_tag(conn, implied)
        if tag_id == implied_id:
            raise VocabularyError(f"{name!r} and {implied!r} are the same tag: nothing to imply")
        if tag_id in implied_closure(conn, [implied_id]):
            raise VocabularyError(
                f"implication loop: {implied!r} already implies {name!r}, so "
                f"{name!r} -> {implied!r} would make them imply each other"
            )
        conn.execute(
            "INSERT OR IGNORE INTO tag_implications (tag_id, implied_id) VALUES (?, ?)",
            (tag_id, implied_id),
        )


def remove_implication(conn: sqlite3.Connection, name: str, implied: str) -> bool:
    """Forget `name -> implied`; True if it was there."""
    ids, implied_ids = resolve_ids(conn, name), resolve_ids(conn, implied)
    if not ids or not implied_ids:
        return False
    cur = conn.execute(
        "DELETE FROM tag_implications WHERE tag_id = ? AND implied_id = ?",
        (ids[0], implied_ids[0]),
    )
    return cur.rowcount > 0


def list_implications(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every direct (tag, implied tag) by name, sorted."""
    rows = conn.execute(
        "SELECT a.name, b.name FROM tag_implications i JOIN tags a ON a.id = i.tag_id "
        "JOIN tags b ON b.id = i.implied_id ORDER BY a.name, b.name"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


# -- translations ----------------------------------------------------------------------


def add_translation(conn: sqlite3.Connection, name: str, lang: str, text: str) -> None:
    """Give a tag a name in another language (`lang`: 'ja', 'zh', 'en' ...)."""
    lang_code = lang.strip().lower()
    if not lang_code:
        raise VocabularyError("empty language code: give one such as 'ja' or 'zh'")
    with transaction(conn):
        tag_id = ensure_tag(conn, name)
        conn.execute(
            "INSERT OR IGNORE INTO tag_translations (tag_id, lang, name) VALUES (?, ?, ?)",
            (tag_id, lang_code, normalize_tag(text)),
        )


def remove_translation(conn: sqlite3.Connection, name: str, lang: str, text: str) -> bool:
    """Forget one translation; True if it was there."""
    ids = resolve_ids(conn, name)
    if not ids:
        return False
    cur = conn.execute(
        "DELETE FROM tag_translations WHERE tag_id = ? AND lang = ? AND name = ?",
        (ids[0], lang.strip().lower(), normalise(text)),
    )
    return cur.rowcount > 0


def list_translations(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every (tag name, lang, translated name), sorted."""
    rows = conn.execute(
        "SELECT t.name, tt.lang, tt.name FROM tag_translations tt JOIN tags t ON t.id = tt.tag_id "
        "ORDER BY t.name, tt.lang, tt.name"
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


# -- what a change would do, and whole-tag edits -------------------------------------------


@dataclass(frozen=True)
class Impact:
    """What adding an alias or implication would change, so people can be asked first.

    `pictures`: pictures whose tags (or what they match in search) would change;
    `replaces`: the entry it would overwrite (an alias that means another tag today).
    """

    pictures: int
    replaces: str | None = None


def _tagged_count(conn: sqlite3.Connection, tag_id: int) -> int:
    row = conn.execute(
        "SELECT COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id = ?", (tag_id,)
    ).fetchone()
    return int(row[0])


def alias_impact(conn: sqlite3.Connection, alias: str, target: str) -> Impact:
    """What `add_alias(alias, target)` would do. Raises VocabularyError for an unknown target."""
    name, target_id = normalize_tag(alias), require_tag(conn, target)
    gone = conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()
    if gone is not None and int(gone[0]) != target_id:  # a tag of its own: merged
        return Impact(pictures=_tagged_count(conn, int(gone[0])))
    old = conn.execute(
        "SELECT t.name FROM tag_aliases a JOIN tags t ON t.id = a.tag_id "
        "WHERE a.alias = ? AND a.tag_id <> ?",
        (name, target_id),
    ).fetchone()
    return Impact(pictures=0, replaces=f"{name} → {old[0]}" if old else None)


def implication_impact(conn: sqlite3.Connection, name: str, implied: str) -> Impact:
    """Pictures that `name -> implied` would newly make match `implied`.

    Both tags must exist (VocabularyError otherwise): an implication of an unknown tag
    is almost always a typo.
    """
    tag_id, implied_id = require_tag(conn, name), require_tag(conn, implied)
    sources = sorted(implying_closure(conn, [tag_id]))
    have = implying_closure(conn, [implied_id])  # pictures that match `implied` today
    marks = ",".join("?" * len(sources))
    row = conn.execute(
        f"SELECT COUNT(DISTINCT image_id) FROM image_tags WHERE tag_id IN ({marks}) "
        "AND image_id NOT IN (SELECT image_id FROM image_tags WHERE tag_id IN "
        f"({','.join('?' * len(have))}))",
        [*sources, *sorted(have)],
    ).fetchone()
    return Impact(pictures=int(row[0]))


def tagged_images(conn: sqlite3.Connection, name: str) -> list[int]:
    """Ids of the images carrying the tag `name` means; [] for an unknown name."""
    ids = resolve_ids(conn, name)
    if not ids:
        return []
    rows = conn.execute(
        "SELECT DISTINCT image_id FROM image_tags WHERE tag_id = ? ORDER BY image_id", (ids[0],)
    ).fetchall()
    return [int(r[0]) for r in rows]


def rename_tag(conn: sqlite3.Connection, old: str, new: str) -> int:
    """Give a tag a new name; the old name stays as an alias. Returns the undoable edit id.

    Raises VocabularyError when the new name is already a tag (merge them instead).
    """
    from illudex.tags.edits import merge_tags  # the move is a merge into a fresh tag

    new_name = normalize_tag(new)
    with transaction(conn):
        tag_id = require_tag(conn, old)
        old_name, category = conn.execute(
            "SELECT name, category FROM tags WHERE id = ?", (tag_id,)).fetchone()
        if resolve_ids(conn, new_name) and new_name != old_name:
            taken = tags_by_id(conn, resolve_ids(conn, new_name)[:1])
            raise VocabularyError(
                f"{new_name!r} is already a name of the tag "
                f"{next(iter(taken.values())).name!r}: merge the two tags instead")
        if new_name == old_name:
            raise VocabularyError(f"{old_name!r} already has that name")
        conn.execute("DELETE FROM tag_aliases WHERE alias = ?", (new_name,))
        cur = conn.execute("INSERT INTO tags (name, category) VALUES (?, ?)", (new_name, category))
        row = {"id": int(cur.lastrowid), "name": new_name, "category": category}
        edit_id = merge_tags(conn, new_name, old_name)
        # Recorded on the same edit (seq 0: it came first) so undo also drops the new tag.
        conn.execute("INSERT INTO tag_edit_vocab (edit_id, seq, change, tbl, row) "
                     "VALUES (?, 0, '+', 'tags', ?)", (edit_id, json.dumps(row)))
        conn.execute("UPDATE tag_edits SET kind = 'rename', summary = ? WHERE id = ?",
                     (f"rename {old_name} to {new_name}", edit_id))
    return edit_id


def delete_tag(conn: sqlite3.Connection, name: str) -> int:
    """Take a tag off every picture and forget it with its aliases, implications and
    translations. Returns the undoable edit id."""
    with transaction(conn):
        tag_id = require_tag(conn, name)
        tag_name = conn.execute("SELECT name FROM tags WHERE id = ?", (tag_id,)).fetchone()[0]
        rec = start_edit(conn, "delete", f"delete tag {tag_name}")
        rec.remove_image_tags("tag_id = ?", [tag_id])
        rec.delete_vocab("tag_aliases", "tag_id = ?", [tag_id])
        rec.delete_vocab("tag_implications", "tag_id = ? OR implied_id = ?", [tag_id, tag_id])
        rec.delete_vocab("tag_translations", "tag_id = ?", [tag_id])
        rec.delete_vocab("tags", "id = ?", [tag_id])
        return rec.id
