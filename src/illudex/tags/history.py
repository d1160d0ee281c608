"""Undoable catalog tag edits: each edit records the rows it inserted and deleted.

The tag edit log is a second undo log beside the journal: the journal undoes file
operations, this undoes catalog tag changes (a user's tags, merges, renames, learned
tags). The journal links to it: an action that edits tags records the edit id, and
undoing the action undoes the edit (`journal.undo` calls `undo_tag_edit`).

The rows live in `illudex.catalog.tagedits` (an `EditRecorder` makes each change and
records it). Undo plays an edit back in reverse and is idempotent row by row, so
undoing an older edit after newer ones is allowed; rows that newer edits changed again
are left as the newer edit made them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from illudex.catalog import tagedits
from illudex.catalog.tagedits import EditRecorder
from illudex.catalog.transaction import transaction
from illudex.errors import InvalidInput

__all__ = [
    "EditRecorder",
    "TagEdit",
    "TagEditError",
    "finish_edit",
    "list_tag_edits",
    "start_edit",
    "undo_tag_edit",
]


class TagEditError(InvalidInput):
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


def start_edit(conn: sqlite3.Connection, kind: str, summary: str) -> EditRecorder:
    """Open a new edit record (call inside `catalog.transaction`)."""
    return tagedits.start(conn, kind, summary)


def finish_edit(recorder: EditRecorder) -> int | None:
    """Drop the edit record if it changed nothing; return its id, or None when empty."""
    return tagedits.finish(recorder)


def list_tag_edits(conn: sqlite3.Connection, *, limit: int = 50) -> list[TagEdit]:
    """The most recent edits first."""
    return [TagEdit(*row) for row in tagedits.recent(conn, limit)]


def undo_tag_edit(conn: sqlite3.Connection, edit_id: int) -> TagEdit:
    """Reverse a recorded edit in the catalog; returns the edit, now marked undone.

    Raises TagEditError when there is no such edit, it is already undone, or a tag it
    deleted has since been created again under the same name.
    """
    with transaction(conn, immediate=True):
        exists, undone = tagedits.undone_at(conn, edit_id)
        if not exists:
            raise TagEditError(f"no tag edit #{edit_id}: list them with list_tag_edits")
        if undone is not None:
            raise TagEditError(f"tag edit #{edit_id} is already undone")
        vocab = tagedits.vocab_changes(conn, edit_id)
        for change, table, values in vocab:  # deleted tags first: the rest refers to them
            if table == "tags" and change == "-":
                _restore_tag(conn, edit_id, values)
        for change, table, values in vocab:
            if table != "tags":
                tagedits.undo_vocab_row(conn, change, table, values)
        tagedits.undo_image_tags(conn, edit_id)
        for change, table, values in vocab:
            if table == "tags" and change == "+":
                tagedits.drop_tag_if_unused(conn, int(values["id"]))
        tagedits.mark_undone(conn, edit_id)
    return next(e for e in list_tag_edits(conn, limit=1 << 30) if e.id == edit_id)


def _restore_tag(conn: sqlite3.Connection, edit_id: int, values: dict) -> None:
    if tagedits.tag_taken(conn, values):
        raise TagEditError(
            f"cannot undo tag edit #{edit_id}: a tag named {values['name']!r} was created "
            "again since; merge or rename it first"
        )
    tagedits.restore_tag(conn, values)
