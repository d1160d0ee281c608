"""A library's history (`lib.history`): what was done (the journal, newest first), undoing
it, the trash and putting pictures back, and a token that changes whenever any of it
does. The journal (`illudex.journal`) does the file work; `illudex.history` reads it
for people.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from illudex import history
from illudex.catalog import journalrows
from illudex.journal import Journal, UndoReport


class History:
    def __init__(self, library_dir: Path, conn: sqlite3.Connection, journal: Journal) -> None:
        self.dir = library_dir
        self.conn = conn
        self.journal = journal

    def undo(self, action_id: int | None = None) -> UndoReport:
        """Undo one action (default: the last one not undone yet)."""
        return self.journal.undo(action_id)

    def actions(self, limit: int = 50, offset: int = 0) -> list[history.ActionEntry]:
        """The journal, newest first: each action with what it moved or changed."""
        return history.actions(self.conn, self.dir, limit, offset)

    def count_actions(self) -> int:
        return history.count_actions(self.conn)

    def count_operations(self, action_id: int) -> int:
        """Files one action moved, wrote or made."""
        return journalrows.count_entries(self.conn, action_id)

    def trash(self, limit: int = 500) -> list[history.TrashItem]:
        """Pictures in the trash, newest first."""
        return history.trash_contents(self.conn, self.dir, limit)

    def restore(self, entries: Sequence[int]) -> history.RestoreResult:
        """Put trashed pictures back (one undoable action); `entries` from `trash`."""
        return history.restore(self.conn, self.journal, self.dir, entries)

    def change_token(self) -> str:
        """Differs whenever pictures, the journal or duplicate decisions changed."""
        return history.change_token(self.conn)
