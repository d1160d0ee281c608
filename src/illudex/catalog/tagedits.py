"""Rows of the undoable tag edits: `tag_edits`, and what each inserted or deleted.

An edit is a row of `tag_edits`; `tag_edit_image_tags` holds the image_tags rows it put
in ('+') or took out ('-'), and `tag_edit_vocab` the vocabulary rows (tags, aliases,
implications, translations) as JSON, numbered in the order they happened. An
`EditRecorder` makes the changes and records them in one go; `illudex.tags.history`
decides what an undo may do and plays the records back through the functions below.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence

from illudex.catalog.idlists import IN_LIST, as_param

# The columns of each vocabulary table an edit may record; counts are kept by triggers.
VOCAB_COLUMNS: dict[str, tuple[str, ...]] = {
    "tags": ("id", "name", "category"),
    "tag_aliases": ("alias", "tag_id"),
    "tag_implications": ("tag_id", "implied_id"),
    "tag_translations": ("tag_id", "lang", "name"),
}
EditRow = tuple  # id, kind, summary, created_at, undone_at (or None), rows added, removed


class EditRecorder:
    """Makes one edit's changes and records the rows they touch; `start` makes one (inside
    a transaction)."""

    def __init__(self, conn: sqlite3.Connection, edit_id: int) -> None:
        self.conn = conn
        self.id = edit_id
        self._seq = 0

    # -- vocabulary rows ---------------------------------------------------------------

    def vocab(self, change: str, table: str, row: Mapping[str, object]) -> None:
        """Record one vocabulary row inserted ('+') or deleted ('-') by this edit."""
        columns = VOCAB_COLUMNS[table]
        self._seq += 1
        self.conn.execute(
            "INSERT INTO tag_edit_vocab (edit_id, seq, change, tbl, row) VALUES (?, ?, ?, ?, ?)",
            (self.id, self._seq, change, table, json.dumps({c: row[c] for c in columns})),
        )

    def insert_vocab(self, table: str, row: Mapping[str, object]) -> None:
        """Insert a vocabulary row and record it."""
        columns = VOCAB_COLUMNS[table]
        self.conn.execute(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            [row[c] for c in columns],
        )
        self.vocab("+", table, row)

    def _delete_vocab(self, table: str, where: str, params: Sequence[object]) -> None:
        columns = VOCAB_COLUMNS[table]
        rows = self.conn.execute(
            f"SELECT {','.join(columns)} FROM {table} WHERE {where}", params
        ).fetchall()
        for row in rows:
            self.vocab("-", table, dict(zip(columns, row, strict=True)))
        self.conn.execute(f"DELETE FROM {table} WHERE {where}", params)

    def drop_tag(self, tag_id: int) -> None:
        """Delete the tag row itself (its image tags and vocabulary moved or deleted first)."""
        self._delete_vocab("tags", "id = ?", [tag_id])

    def forget_tag(self, tag_id: int) -> None:
        """Take the tag off every picture, delete its aliases, implications, translations
        and the tag itself."""
        self._remove_image_tags("tag_id = ?", [tag_id])
        self._delete_vocab("tag_aliases", "tag_id = ?", [tag_id])
        self._delete_vocab("tag_implications", "tag_id = ? OR implied_id = ?", [tag_id, tag_id])
        self._delete_vocab("tag_translations", "tag_id = ?", [tag_id])
        self.drop_tag(tag_id)

    def move_vocabulary(self, gone_id: int, keep_id: int) -> None:
        """The aliases, implications and translations of `gone_id` become `keep_id`'s
        (an implication of a tag by itself, or one `keep_id` has already, is dropped)."""
        conn = self.conn
        aliases = conn.execute("SELECT alias FROM tag_aliases WHERE tag_id = ?",
                               (gone_id,)).fetchall()
        self._delete_vocab("tag_aliases", "tag_id = ?", [gone_id])
        for (alias,) in aliases:
            self.insert_vocab("tag_aliases", {"alias": alias, "tag_id": keep_id})
        pairs = conn.execute(
            "SELECT tag_id, implied_id FROM tag_implications WHERE tag_id = ? OR implied_id = ?",
            (gone_id, gone_id),
        ).fetchall()
        self._delete_vocab("tag_implications", "tag_id = ? OR implied_id = ?", [gone_id, gone_id])
        for tag_id, implied_id in pairs:
            row = {"tag_id": keep_id if tag_id == gone_id else tag_id,
                   "implied_id": keep_id if implied_id == gone_id else implied_id}
            if row["tag_id"] != row["implied_id"] and not conn.execute(
                "SELECT 1 FROM tag_implications WHERE tag_id = ? AND implied_id = ?",
                (row["tag_id"], row["implied_id"]),
            ).fetchone():
                self.insert_vocab("tag_implications", row)
        translations = conn.execute(
            "SELECT lang, name FROM tag_translations WHERE tag_id = ?", (gone_id,)
        ).fetchall()
        self._delete_vocab("tag_translations", "tag_id = ?", [gone_id])
        for lang, name in translations:
            if not conn.execute(
                "SELECT 1 FROM tag_translations WHERE tag_id = ? AND lang = ? AND name = ?",
                (keep_id, lang, name),
            ).fetchone():
                self.insert_vocab("tag_translations",
                                  {"tag_id": keep_id, "lang": lang, "name": name})

    # -- image tags --------------------------------------------------------------------

    def _add_image_tags(self, select_sql: str, params: Sequence[object]) -> int:
        """Insert image_tags rows chosen by `select_sql` (image_id, tag_id, source, score).

        Rows already present (same image, tag and source) are skipped and not recorded.
        Returns how many rows went in.
        """
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO tag_edit_image_tags "
            "(edit_id, change, image_id, tag_id, source, score) "
            f"SELECT ?, '+', s.* FROM ({select_sql}) s WHERE NOT EXISTS (SELECT 1 FROM "
            "image_tags x WHERE x.image_id = s.image_id AND x.tag_id = s.tag_id "
            "AND x.source = s.source)",
            [self.id, *params],
        )
        self.conn.execute(
            "INSERT OR IGNORE INTO image_tags (image_id, tag_id, source, score) "
            "SELECT image_id, tag_id, source, score FROM tag_edit_image_tags "
            "WHERE edit_id = ? AND change = '+'",
            (self.id,),
        )
        return cur.rowcount

    def _remove_image_tags(self, where: str, params: Sequence[object]) -> int:
        """Delete the image_tags rows matching `where` (over image_tags), recording each."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO tag_edit_image_tags "
            "(edit_id, change, image_id, tag_id, source, score) "
            f"SELECT ?, '-', image_id, tag_id, source, score FROM image_tags WHERE {where}",
            [self.id, *params],
        )
        self.conn.execute(f"DELETE FROM image_tags WHERE {where}", params)
        return cur.rowcount

    def add_pairs(self, image_ids: Iterable[int], tag_ids: Iterable[int], source: str) -> int:
        """Every tag on every (still catalogued) image, from `source`, without a score."""
        return self._add_image_tags(
            "SELECT i.value AS image_id, t.value AS tag_id, ? AS source, NULL AS score "
            "FROM json_each(?) i, json_each(?) t WHERE i.value IN (SELECT id FROM images)",
            [source, as_param(image_ids), as_param(tag_ids)],
        )

    def add_scored(self, tag_id: int, source: str, scored: Mapping[int, float]) -> int:
        """The tag on each (still catalogued) image of `scored`, from `source`, at its score."""
        rows = json.dumps([[int(i), float(s)] for i, s in sorted(scored.items())])
        return self._add_image_tags(
            "SELECT json_extract(j.value, '$[0]') AS image_id, ? AS tag_id, ? AS source, "
            "json_extract(j.value, '$[1]') AS score FROM json_each(?) j "
            "WHERE json_extract(j.value, '$[0]') IN (SELECT id FROM images)",
            [tag_id, source, rows],
        )

    def remove_pairs(self, image_ids: Iterable[int], tag_ids: Iterable[int],
                     sources: Sequence[str] | None = None) -> int:
        """These tags off these images (from every source, or only `sources`)."""
        where = f"image_id IN {IN_LIST} AND tag_id IN {IN_LIST}"
        params: list[object] = [as_param(image_ids), as_param(tag_ids)]
        if sources is not None:
            where += f" AND source IN {IN_LIST}"
            params.append(as_param(sources))
        return self._remove_image_tags(where, params)

    def remove_source(self, tag_id: int, source: str) -> int:
        """The tag off every image that has it from `source`."""
        return self._remove_image_tags("tag_id = ? AND source = ?", [tag_id, source])

    def move_tag(self, old_id: int, new_id: int, image_ids: Iterable[int] | None = None) -> None:
        """On these images (None: all), tag `old_id` becomes `new_id`, same source and score."""
        where, params = "1", []
        if image_ids is not None:
            where, params = f"image_id IN {IN_LIST}", [as_param(image_ids)]
        self._add_image_tags(
            f"SELECT image_id, ? AS tag_id, source, score FROM image_tags "
            f"WHERE tag_id = ? AND {where}",
            [new_id, old_id, *params],
        )
        self._remove_image_tags(f"tag_id = ? AND {where}", [old_id, *params])

    def add_implied(self, image_ids: Iterable[int] | None = None) -> int:
        """Implied tags (transitively) onto images (all, or these) that miss them from
        every source, with source 'implied'."""
        image_filter, params = "", []
        if image_ids is not None:
            image_filter, params = f"AND it.image_id IN {IN_LIST}", [as_param(image_ids)]
        conn = self.conn
        # A recursive CTE cannot feed the INSERT ... SELECT above, so stage the closure.
        conn.execute("DROP TABLE IF EXISTS temp.implication_closure")
        conn.execute(
            "CREATE TEMP TABLE implication_closure AS WITH RECURSIVE c(tag_id, implied_id) AS "
            "(SELECT tag_id, implied_id FROM tag_implications UNION "
            "SELECT c.tag_id, i.implied_id FROM c JOIN tag_implications i ON i.tag_id = "
            "c.implied_id) SELECT DISTINCT tag_id, implied_id FROM c"
        )
        try:
            return self._add_image_tags(
                "SELECT DISTINCT it.image_id, c.implied_id AS tag_id, 'implied' AS source, "
                "NULL AS score FROM image_tags it "
                "JOIN temp.implication_closure c ON c.tag_id = it.tag_id "
                "WHERE NOT EXISTS (SELECT 1 FROM image_tags x WHERE x.image_id = it.image_id "
                f"AND x.tag_id = c.implied_id) {image_filter}",
                params,
            )
        finally:
            conn.execute("DROP TABLE temp.implication_closure")


# -- the edits themselves --------------------------------------------------------------


def start(conn: sqlite3.Connection, kind: str, summary: str) -> EditRecorder:
    """Open a new edit record (inside a transaction)."""
    cur = conn.execute(
        "INSERT INTO tag_edits (kind, summary, created_at) VALUES (?, ?, ?)",
        (kind, summary, time.time()),
    )
    return EditRecorder(conn, int(cur.lastrowid))


def finish(recorder: EditRecorder) -> int | None:
    """Drop the edit record if it changed nothing; return its id, or None when empty."""
    conn = recorder.conn
    changed = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM tag_edit_image_tags WHERE edit_id = ?) "
        "OR EXISTS (SELECT 1 FROM tag_edit_vocab WHERE edit_id = ?)",
        (recorder.id, recorder.id),
    ).fetchone()[0]
    if changed:
        return recorder.id
    conn.execute("DELETE FROM tag_edits WHERE id = ?", (recorder.id,))
    return None


def append_summary(conn: sqlite3.Connection, edit_id: int, suffix: str) -> None:
    conn.execute("UPDATE tag_edits SET summary = summary || ' ' || ? WHERE id = ?",
                 (suffix, edit_id))


def record_first(conn: sqlite3.Connection, edit_id: int, table: str, row: dict) -> None:
    """Record a vocabulary row inserted before the edit's other changes (seq 0), so that
    undo, which plays them back last first, removes it last."""
    conn.execute("INSERT INTO tag_edit_vocab (edit_id, seq, change, tbl, row) "
                 "VALUES (?, 0, '+', ?, ?)", (edit_id, table, json.dumps(row)))


def relabel(conn: sqlite3.Connection, edit_id: int, kind: str, summary: str) -> None:
    conn.execute("UPDATE tag_edits SET kind = ?, summary = ? WHERE id = ?",
                 (kind, summary, edit_id))


def recent(conn: sqlite3.Connection, limit: int) -> list[EditRow]:
    """(id, kind, summary, created_at, undone_at, rows added, rows removed), newest first."""
    return [tuple(r) for r in conn.execute(
        "SELECT e.id, e.kind, e.summary, e.created_at, e.undone_at, "
        "(SELECT COUNT(*) FROM tag_edit_image_tags WHERE edit_id = e.id AND change = '+'), "
        "(SELECT COUNT(*) FROM tag_edit_image_tags WHERE edit_id = e.id AND change = '-') "
        "FROM tag_edits e ORDER BY e.id DESC LIMIT ?",
        (limit,),
    )]


def removed_in_effect(conn: sqlite3.Connection, tag_id: int, source: str) -> set[int]:
    """Images whose `tag_id` from `source` a 'remove' edit still in effect deleted."""
    return {int(r[0]) for r in conn.execute(
        "SELECT DISTINCT e.image_id FROM tag_edit_image_tags e "
        "JOIN tag_edits te ON te.id = e.edit_id WHERE e.change = '-' AND e.tag_id = ? "
        "AND e.source = ? AND te.kind = 'remove' AND te.undone_at IS NULL",
        (tag_id, source))}


# -- playing an edit back (undo) ---------------------------------------------------------


def undone_at(conn: sqlite3.Connection, edit_id: int) -> tuple[bool, float | None]:
    """(whether the edit exists, when it was undone or None)."""
    row = conn.execute("SELECT undone_at FROM tag_edits WHERE id = ?", (edit_id,)).fetchone()
    return (False, None) if row is None else (True, row[0])


def vocab_changes(conn: sqlite3.Connection, edit_id: int) -> list[tuple[str, str, dict]]:
    """(change, table, row) of each vocabulary row the edit touched, last first."""
    return [(c, t, json.loads(r)) for c, t, r in conn.execute(
        "SELECT change, tbl, row FROM tag_edit_vocab WHERE edit_id = ? ORDER BY seq DESC",
        (edit_id,))]


def tag_taken(conn: sqlite3.Connection, values: Mapping[str, object]) -> bool:
    """Whether a deleted tag's name or id belongs to a tag again."""
    return conn.execute("SELECT 1 FROM tags WHERE name = ? OR id = ?",
                        (values["name"], values["id"])).fetchone() is not None


def restore_tag(conn: sqlite3.Connection, values: Mapping[str, object]) -> None:
    """Put a deleted tag row back (its name stops being an alias)."""
    conn.execute("DELETE FROM tag_aliases WHERE alias = ?", (values["name"],))
    conn.execute("INSERT INTO tags (id, name, category) VALUES (?, ?, ?)",
                 (values["id"], values["name"], values["category"]))


def undo_vocab_row(conn: sqlite3.Connection, change: str, table: str,
                   values: Mapping[str, object]) -> None:
    """Take out an inserted row; put back a deleted one unless its name is a tag again or
    a tag it refers to was deleted since."""
    columns = VOCAB_COLUMNS[table]
    if change == "+":
        where = " AND ".join(f"{c} = ?" for c in columns)
        conn.execute(f"DELETE FROM {table} WHERE {where}", [values[c] for c in columns])
        return
    if table == "tag_aliases" and conn.execute(
        "SELECT 1 FROM tags WHERE name = ?", (values["alias"],)
    ).fetchone():
        return  # the name is a tag again: an alias of it would shadow nothing
    tag_ids = [values[c] for c in columns if c.endswith("tag_id") or c == "implied_id"]
    alive = conn.execute(f"SELECT COUNT(*) FROM tags WHERE id IN {IN_LIST}",
                         (as_param(tag_ids),)).fetchone()
    if alive[0] < len(set(tag_ids)):
        return  # a tag it refers to was deleted since
    conn.execute(
        f"INSERT OR IGNORE INTO {table} ({','.join(columns)}) "
        f"VALUES ({','.join('?' * len(columns))})",
        [values[c] for c in columns],
    )


def undo_image_tags(conn: sqlite3.Connection, edit_id: int) -> None:
    """Take out the image tags the edit put in, put back those it took out."""
    conn.execute(
        "DELETE FROM image_tags WHERE EXISTS (SELECT 1 FROM tag_edit_image_tags e "
        "WHERE e.edit_id = ? AND e.change = '+' AND e.image_id = image_tags.image_id "
        "AND e.tag_id = image_tags.tag_id AND e.source = image_tags.source)",
        (edit_id,),
    )
    # Images deleted since the edit stay deleted; tags deleted since stay deleted.
    conn.execute(
        "INSERT OR IGNORE INTO image_tags (image_id, tag_id, source, score) "
        "SELECT e.image_id, e.tag_id, e.source, e.score FROM tag_edit_image_tags e "
        "WHERE e.edit_id = ? AND e.change = '-' "
        "AND EXISTS (SELECT 1 FROM images WHERE id = e.image_id) "
        "AND EXISTS (SELECT 1 FROM tags WHERE id = e.tag_id)",
        (edit_id,),
    )


def drop_tag_if_unused(conn: sqlite3.Connection, tag_id: int) -> None:
    """Delete a tag an edit created, unless something else has come to use it."""
    conn.execute(
        "DELETE FROM tags WHERE id = ? AND image_count = 0 "
        "AND NOT EXISTS (SELECT 1 FROM image_tags WHERE tag_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM tag_aliases WHERE tag_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM tag_implications WHERE tag_id = ? OR implied_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM tag_translations WHERE tag_id = ?)",
        (tag_id,) * 6,
    )


def mark_undone(conn: sqlite3.Connection, edit_id: int) -> None:
    conn.execute("UPDATE tag_edits SET undone_at = ? WHERE id = ?", (time.time(), edit_id))
