"""Undoable catalog tag edits: each edit records the rows it inserted and deleted.

An edit is a row of `tag_edits`; `tag_edit_image_tags` holds the image_tags rows it put
in ('+') or took out ('-'), and `tag_edit_vocab` the vocabulary rows (tags, aliases,
implications, translations) as JSON. `undo_tag_edit` plays those back in reverse.
Undo is idempotent row by row, so undoing an older edit after newer ones is allowed; rows
that newer edits changed again are left as the newer edit made them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from illudex.catalog.db import write_transaction

# The columns of each vocabulary table an edit may record; counts are kept by triggers.
VOCAB_COLUMNS: dict[str, tuple[str, ...]] = {
    "tags": ("id", "name", "category"),
    "tag_aliases": ("alias", "tag_id"),
    "tag_implications": ("tag_id", "implied_id"),
    "tag_translations": ("tag_id", "lang", "name"),
}


class TagEditError(ValueError):
    """A tag edit (or its undo) cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class TagEdit:
    """One recorded edit: what it was, and how many image tag rows it added and removed."""

    id: int
    kind: str
    summary: str
    created_at: float
    undone_at: float | None
    added: int
    removed: int


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """All-or-nothing block: a write transaction, or a savepoint inside the caller's."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT illudex_tags")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # a full disk may have rolled everything back already
                conn.execute("ROLLBACK TO illudex_tags")
                conn.execute("RELEASE illudex_tags")
            raise
        conn.execute("RELEASE illudex_tags")
        return
    with write_transaction(conn):
        yield


class EditRecorder:
    """Records the rows one edit changes; make one with `start_edit` inside a transaction."""

    def __init__(self, conn: sqlite3.Connection, edit_id: int) -> None:
        self.conn = conn
        self.id = edit_id
        self._seq = 0

    def vocab(self, change: str, table: str, row: dict[str, object]) -> None:
        """Record one vocabulary row inserted ('+') or deleted ('-') by this edit."""
        columns = VOCAB_COLUMNS[table]
        self._seq += 1
        self.conn.execute(
            "INSERT INTO tag_edit_vocab (edit_id, seq, change, tbl, row) VALUES (?, ?, ?, ?, ?)",
            (self.id, self._seq, change, table, json.dumps({c: row[c] for c in columns})),
        )

    def insert_vocab(self, table: str, row: dict[str, object]) -> None:
        """Insert a vocabulary row and record it."""
        columns = VOCAB_COLUMNS[table]
        marks = ",".join("?" * len(columns))
        self.conn.execute(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})",
            [row[c] for c in columns],
        )
        self.vocab("+", table, row)

    def delete_vocab(self, table: str, where: str, params: Sequence[object]) -> None:
        """Delete the vocabulary rows matching `where`, recording each."""
        columns = VOCAB_COLUMNS[table]
        rows = self.conn.execute(
            f"SELECT {','.join(columns)} FROM {table} WHERE {where}", params
        ).fetchall()
        for row in rows:
            self.vocab("-", table, dict(zip(columns, row, strict=True)))
        self.conn.execute(f"DELETE FROM {table} WHERE {where}", params)

    def add_image_tags(self, select_sql: str, params: Sequence[object]) -> int:
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

    def remove_image_tags(self, where: str, params: Sequence[object]) -> int:
        """Delete the image_tags rows matching `where` (over image_tags), recording each."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO tag_edit_image_tags "
            "(edit_id, change, image_id, tag_id, source, score) "
            f"SELECT ?, '-', image_id, tag_id, source, score FROM image_tags WHERE {where}",
            [self.id, *params],
        )
        self.conn.execute(f"DELETE FROM image_tags WHERE {where}", params)
        return cur.rowcount


def start_edit(conn: sqlite3.Connection, kind: str, summary: str) -> EditRecorder:
    """Open a new edit record (call inside `transaction`)."""
    cur = conn.execute(
        "INSERT INTO tag_edits (kind, summary, created_at) VALUES (?, ?, ?)",
        (kind, summary, time.time()),
    )
    return EditRecorder(conn, int(cur.lastrowid))


def finish_edit(recorder: EditRecorder) -> int | None:
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


def list_tag_edits(conn: sqlite3.Connection, *, limit: int = 50) -> list[TagEdit]:
    """The most recent edits first."""
    rows = conn.execute(
        "SELECT e.id, e.kind, e.summary, e.created_at, e.undone_at, "
        "(SELECT COUNT(*) FROM tag_edit_image_tags WHERE edit_id = e.id AND change = '+'), "
        "(SELECT COUNT(*) FROM tag_edit_image_tags WHERE edit_id = e.id AND change = '-') "
        "FROM tag_edits e ORDER BY e.id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [TagEdit(*tuple(r)) for r in rows]


def undo_tag_edit(conn: sqlite3.Connection, edit_id: int) -> TagEdit:
    """Reverse a recorded edit in the catalog; returns the edit, now marked undone.

    Raises TagEditError when there is no such edit, it is already undone, or a tag it
    deleted has since been created again under the same name.
    """
    with transaction(conn):
        row = conn.execute("SELECT undone_at FROM tag_edits WHERE id = ?", (edit_id,)).fetchone()
        if row is None:
            raise TagEditError(f"no tag edit #{edit_id}: list them with list_tag_edits")
        if row[0] is not None:
            raise TagEditError(f"tag edit #{edit_id} is already undone")
        vocab = conn.execute(
            "SELECT change, tbl, row FROM tag_edit_vocab WHERE edit_id = ? ORDER BY seq DESC",
            (edit_id,),
        ).fetchall()
        vocab = [(c, t, json.loads(r)) for c, t, r in vocab]
        for change, table, values in vocab:  # deleted tags first: the rest refers to them
            if table == "tags" and change == "-":
                _restore_tag(conn, edit_id, values)
        for change, table, values in vocab:
            if table != "tags":
                _undo_vocab_row(conn, change, table, values)
        _undo_image_tags(conn, edit_id)
        for change, table, values in vocab:
            if table == "tags" and change == "+":
                _drop_tag_if_unused(conn, int(values["id"]))
        conn.execute("UPDATE tag_edits SET undone_at = ? WHERE id = ?", (time.time(), edit_id))
    return next(e for e in list_tag_edits(conn, limit=1 << 30) if e.id == edit_id)


def _restore_tag(conn: sqlite3.Connection, edit_id: int, values: dict) -> None:
    clash = conn.execute(
        "SELECT id FROM tags WHERE name = ? OR id = ?", (values["name"], values["id"])
    ).fetchone()
    if clash:
        raise TagEditError(
            f"cannot undo tag edit #{edit_id}: a tag named {values['name']!r} was created "
            "again since; merge or rename it first"
        )
    conn.execute("DELETE FROM tag_aliases WHERE alias = ?", (values["name"],))
    conn.execute(
        "INSERT INTO tags (id, name, category) VALUES (?, ?, ?)",
        (values["id"], values["name"], values["category"]),
    )


def _undo_vocab_row(conn: sqlite3.Connection, change: str, table: str, values: dict) -> None:
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
    marks = ",".join("?" * len(tag_ids))
    alive = conn.execute(f"SELECT COUNT(*) FROM tags WHERE id IN ({marks})", tag_ids).fetchone()
    if alive[0] < len(set(tag_ids)):
        return  # a tag it refers to was deleted since
    conn.execute(
        f"INSERT OR IGNORE INTO {table} ({','.join(columns)}) "
        f"VALUES ({','.join('?' * len(columns))})",
        [values[c] for c in columns],
    )


def _undo_image_tags(conn: sqlite3.Connection, edit_id: int) -> None:
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


def _drop_tag_if_unused(conn: sqlite3.Connection, tag_id: int) -> None:
    """Delete a tag an edit created, unless something else has come to use it."""
    conn.execute(
        "DELETE FROM tags WHERE id = ? AND image_count = 0 "
        "AND NOT EXISTS (SELECT 1 FROM image_tags WHERE tag_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM tag_aliases WHERE tag_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM tag_implications WHERE tag_id = ? OR implied_id = ?) "
        "AND NOT EXISTS (SELECT 1 FROM tag_translations WHERE tag_id = ?)",
        (tag_id,) * 6,
    )
