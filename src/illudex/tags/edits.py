"""Batch tag edits on sets of images, each one undoable (`undo_tag_edit`).

These change the catalog only. Writing the result back to sidecar `.txt` files is a file
write the journal does; `tags_for_sidecar` gives the tag list to write for each image.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from illudex.tags.history import (
    EditRecorder,
    TagEdit,
    TagEditError,
    finish_edit,
    list_tag_edits,
    start_edit,
    transaction,
    undo_tag_edit,
)
from illudex.tags.vocabulary import (
    VocabularyError,
    ensure_tag,
    normalize_tag,
    require_tag,
    resolve_ids,
)

__all__ = [
    "TagEdit",
    "TagEditError",
    "add_tags",
    "apply_implications",
    "list_tag_edits",
    "merge_tags",
    "remove_tags",
    "replace_tag",
    "tags_for_sidecar",
    "undo_tag_edit",
]

# Order of tags in a written caption: who/what first, then the picture's content.
CAPTION_CATEGORY_ORDER = ("character", "copyright", "artist", "general", "meta", "rating")


def _image_ids_json(conn: sqlite3.Connection, image_ids: Iterable[int]) -> str:
    ids = sorted({int(i) for i in image_ids})
    if not ids:
        raise TagEditError("no images given: select at least one image to edit")
    return json.dumps(ids)


def _names(names: str | Iterable[str]) -> list[str]:
    items = [names] if isinstance(names, str) else list(names)
    if not items:
        raise TagEditError("no tags given: name at least one tag")
    return [normalize_tag(n) for n in items]


def add_tags(
    conn: sqlite3.Connection,
    image_ids: Iterable[int],
    names: str | Iterable[str],
    *,
    source: str = "user",
) -> int | None:
    """Tag these images with these tags (aliases resolved, unknown tags created).

    Returns the edit id, or None when every image already had every tag from `source`.
    """
    tag_names, images = _names(names), _image_ids_json(conn, image_ids)
    with transaction(conn):
        rec = start_edit(conn, "add", f"add {', '.join(tag_names)}")
        tag_ids = [ensure_tag(conn, n, recorder=rec) for n in tag_names]
        rec.add_image_tags(
            "SELECT i.value AS image_id, t.value AS tag_id, ? AS source, NULL AS score "
            "FROM json_each(?) i, json_each(?) t WHERE i.value IN (SELECT id FROM images)",
            [source, images, json.dumps(tag_ids)],
        )
        return _finish(rec, f"on {_count(images)} images")


def remove_tags(
    conn: sqlite3.Connection,
    image_ids: Iterable[int],
    names: str | Iterable[str],
    *,
    sources: Sequence[str] | None = None,
) -> int | None:
    """Take these tags off these images (from every source, or only `sources`).

    Returns the edit id, or None when none of the images had them.
    """
    tag_names, images = _names(names), _image_ids_json(conn, image_ids)
    with transaction(conn):
        tag_ids = [i for n in tag_names for i in resolve_ids(conn, n)]
        rec = start_edit(conn, "remove", f"remove {', '.join(tag_names)}")
        where = (
            "image_id IN (SELECT value FROM json_each(?)) "
            "AND tag_id IN (SELECT value FROM json_each(?))"
        )
        params: list[object] = [images, json.dumps(tag_ids)]
        if sources is not None:
            where += " AND source IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(sources)))
        rec.remove_image_tags(where, params)
        return _finish(rec, f"on {_count(images)} images")


def replace_tag(
    conn: sqlite3.Connection, image_ids: Iterable[int], old: str, new: str
) -> int | None:
    """On these images, tag `old` becomes `new` (same source and score). Returns the edit id."""
    images = _image_ids_json(conn, image_ids)
    with transaction(conn):
        old_id = require_tag(conn, old)
        rec = start_edit(conn, "replace", f"replace {normalize_tag(old)} -> {normalize_tag(new)}")
        new_id = ensure_tag(conn, new, recorder=rec)
        if new_id == old_id:
            raise TagEditError(f"{old!r} and {new!r} are the same tag: nothing to replace")
        _move_image_tags(rec, old_id, new_id, "image_id IN (SELECT value FROM json_each(?))",
                         [images])
        return _finish(rec, f"on {_count(images)} images")


def merge_tags(conn: sqlite3.Connection, keep: str, gone: str) -> int:
    """Merge tag `gone` into `keep` everywhere: `gone` becomes an alias of `keep`.

    Its images, aliases, implications and translations move to `keep`; the tag `gone` is
    deleted. Returns the edit id (undo restores `gone` with everything it had).
    """
    with transaction(conn):
        keep_id, gone_id = require_tag(conn, keep), require_tag(conn, gone)
        if keep_id == gone_id:
            raise VocabularyError(f"{keep!r} and {gone!r} are already the same tag")
        gone_row = conn.execute(
            "SELECT id, name, category FROM tags WHERE id = ?", (gone_id,)
        ).fetchone()
        keep_name = conn.execute("SELECT name FROM tags WHERE id = ?", (keep_id,)).fetchone()[0]
        rec = start_edit(conn, "merge", f"merge {gone_row[1]} into {keep_name}")
        _move_image_tags(rec, gone_id, keep_id, "1", [])
        _move_vocabulary(rec, gone_id, keep_id)
        rec.delete_vocab("tags", "id = ?", [gone_id])
        rec.insert_vocab("tag_aliases", {"alias": gone_row[1], "tag_id": keep_id})
        return rec.id


def _move_image_tags(
    rec: EditRecorder, old_id: int, new_id: int, image_where: str, params: list[object]
) -> None:
    rec.add_image_tags(
        f"SELECT image_id, ? AS tag_id, source, score FROM image_tags "
        f"WHERE tag_id = ? AND {image_where}",
        [new_id, old_id, *params],
    )
    rec.remove_image_tags(f"tag_id = ? AND {image_where}", [old_id, *params])


def _move_vocabulary(rec: EditRecorder, gone_id: int, keep_id: int) -> None:
    conn = rec.conn
    aliases = conn.execute("SELECT alias FROM tag_aliases WHERE tag_id = ?", (gone_id,)).fetchall()
    rec.delete_vocab("tag_aliases", "tag_id = ?", [gone_id])
    for (alias,) in aliases:
        rec.insert_vocab("tag_aliases", {"alias": alias, "tag_id": keep_id})
    pairs = conn.execute(
        "SELECT tag_id, implied_id FROM tag_implications WHERE tag_id = ? OR implied_id = ?",
        (gone_id, gone_id),
    ).fetchall()
    rec.delete_vocab("tag_implications", "tag_id = ? OR implied_id = ?", [gone_id, gone_id])
    for tag_id, implied_id in pairs:
        row = {
            "tag_id": keep_id if tag_id == gone_id else tag_id,
            "implied_id": keep_id if implied_id == gone_id else implied_id,
        }
        if row["tag_id"] != row["implied_id"] and not conn.execute(
            "SELECT 1 FROM tag_implications WHERE tag_id = ? AND implied_id = ?",
            (row["tag_id"], row["implied_id"]),
        ).fetchone():
            rec.insert_vocab("tag_implications", row)
    translations = conn.execute(
        "SELECT lang, name FROM tag_translations WHERE tag_id = ?", (gone_id,)
    ).fetchall()
    rec.delete_vocab("tag_translations", "tag_id = ?", [gone_id])
    for lang, name in translations:
        if not conn.execute(
            "SELECT 1 FROM tag_translations WHERE tag_id = ? AND lang = ? AND name = ?",
            (keep_id, lang, name),
        ).fetchone():
            rec.insert_vocab("tag_translations", {"tag_id": keep_id, "lang": lang, "name": name})


def apply_implications(
    conn: sqlite3.Connection, image_ids: Iterable[int] | None = None
) -> int | None:
    """Write implied tags onto images (all, or these) with source 'implied'.

    An image tagged `zero_suit_samus` gets `samus_aran` and `metroid` unless it has them
    from some source already. Returns the edit id, or None when nothing was missing.
    """
    image_filter, params = "", []
    if image_ids is not None:
        image_filter = "AND it.image_id IN (SELECT value FROM json_each(?))"
        params.append(_image_ids_json(conn, image_ids))
    with transaction(conn):
        rec = start_edit(conn, "implied", "apply implications")
        # A recursive CTE cannot feed the recorder's INSERT ... SELECT, so stage the closure.
        conn.execute("DROP TABLE IF EXISTS temp.implication_closure")
        conn.execute(
            "CREATE TEMP TABLE implication_closure AS WITH RECURSIVE c(tag_id, implied_id) AS "
            "(SELECT tag_id, implied_id FROM tag_implications UNION "
            "SELECT c.tag_id, i.implied_id FROM c JOIN tag_implications i ON i.tag_id = "
            "c.implied_id) SELECT DISTINCT tag_id, implied_id FROM c"
        )
        try:
            rec.add_image_tags(
                "SELECT DISTINCT it.image_id, c.implied_id AS tag_id, 'implied' AS source, "
                "NULL AS score FROM image_tags it "
                "JOIN temp.implication_closure c ON c.tag_id = it.tag_id "
                f"WHERE NOT EXISTS (SELECT 1 FROM image_tags x WHERE x.image_id = it.image_id "
                f"AND x.tag_id = c.implied_id) {image_filter}",
                params,
            )
        finally:
            conn.execute("DROP TABLE temp.implication_closure")
        return _finish(rec, "")


def tags_for_sidecar(
    conn: sqlite3.Connection,
    image_ids: Iterable[int],
    *,
    include_rating: bool = False,
    min_model_score: float | None = None,
) -> dict[int, list[str]]:
    """For each image, the canonical tag names to write to its `.txt` sidecar.

    User, sidecar and model tags (not implied ones); model tags below `min_model_score`
    are left out. Ordered character, copyright, artist, general, meta; within a category
    people's tags first, then by model confidence, then by name. Images with no tags
    map to [].
    """
    ids = sorted({int(i) for i in image_ids})
    out: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rank = " ".join(f"WHEN '{c}' THEN {n}" for n, c in enumerate(CAPTION_CATEGORY_ORDER))
    rows = conn.execute(
        "SELECT it.image_id, t.name, t.category, "
        "MAX(CASE WHEN it.source LIKE 'model:%' THEN it.score ELSE 2.0 END) AS weight "
        "FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id IN (SELECT value FROM json_each(?)) "
        "AND (it.source IN ('user', 'sidecar') OR (it.source LIKE 'model:%' "
        "AND (? IS NULL OR it.score IS NULL OR it.score >= ?))) "
        "AND (? OR t.category <> 'rating') "
        f"GROUP BY it.image_id, t.id ORDER BY it.image_id, CASE t.category {rank} ELSE 9 END, "
        "weight DESC, t.name",
        (json.dumps(ids), min_model_score, min_model_score, int(include_rating)),
    ).fetchall()
    for image_id, name, _category, _weight in rows:
        out[int(image_id)].append(name)
    return out


def _count(images_json: str) -> int:
    return len(json.loads(images_json))


def _finish(rec: EditRecorder, suffix: str) -> int | None:
    if suffix:
        rec.conn.execute(
            "UPDATE tag_edits SET summary = summary || ' ' || ? WHERE id = ?", (suffix, rec.id)
        )
    return finish_edit(rec)
