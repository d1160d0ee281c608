"""The journal read for people: every action with what it moved or changed, the trash's
contents, putting trashed pictures back, and a token that changes whenever the
pictures or the journal do (so a page showing them knows it is stale).

Only the journal's public operations change files here: putting a picture back is a
journalled move of its own, so it can be undone like any other action, and undoing
the action that trashed it later finds the file already home.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from illudex.catalog import journalrows
from illudex.catalog.images import row_by_path
from illudex.journal import Journal, JournalError, UndoReport
from illudex.paths import is_under, sidecar_path
from illudex.scan.walk import TRASH_DIR_NAME

OPERATIONS_SHOWN = 50  # operations listed per action (the count says how many in all)


@dataclass(frozen=True)
class Operation:
    op: str  # 'move' | 'write' | 'create' | 'tag-edit'
    src: str | None
    dst: str | None
    state: str  # 'pending' | 'done' | 'undone'
    to_trash: bool = False  # a move into a trash folder


@dataclass
class ActionEntry:
    id: int
    kind: str
    summary: str
    created_at: float
    state: str  # 'open' | 'done' | 'undone'
    count: int  # operations in all
    operations: list[Operation] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class TrashItem:
    entry: int  # the journal row that moved it there
    action_id: int
    original: str  # where it came from (and goes back to)
    path: str  # where it lies in the trash
    image_id: int | None
    size: int | None
    trashed_at: float
    captions: int  # caption files trashed with it

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class RestoreResult:
    action_id: int | None
    done: list[tuple[str, str]] = field(default_factory=list)  # (from the trash, back to)
    failed: list[dict[str, str]] = field(default_factory=list)


def actions(conn: sqlite3.Connection, library_dir: Path, limit: int = 50, offset: int = 0
            ) -> list[ActionEntry]:
    """The newest actions first, each with its first operations."""
    out = [ActionEntry(*r) for r in journalrows.recent_actions(conn, limit, offset)]
    for entry in out:
        ops = journalrows.first_entries(conn, entry.id, OPERATIONS_SHOWN)
        entry.operations = [
            Operation(op, _text(src), _text(dst), state,
                      op == "move" and in_trash(_text(dst) or "", library_dir))
            for op, src, dst, state in ops]
    return out


def count_actions(conn: sqlite3.Connection) -> int:
    return journalrows.count_actions(conn)


def in_trash(path: str, library_dir: Path) -> bool:
    """The journal's trash: the library's `trash/`, or a `.illudex-trash` folder."""
    return is_under(path, str(library_dir / "trash")) or TRASH_DIR_NAME in Path(path).parts


def trash_contents(conn: sqlite3.Connection, library_dir: Path, limit: int = 500
                   ) -> list[TrashItem]:
    """Pictures the journal moved into a trash that are still there, newest first.
    Their caption files, trashed with them, go back with them and are only counted."""
    rows = journalrows.done_moves(conn)
    moved = [(entry, action, _text(src) or "", _text(dst) or "", at)
             for entry, action, src, dst, at in rows]
    trashed = [m for m in moved if in_trash(m[3], library_dir) and os.path.lexists(m[3])]
    captions = {(action, src) for _, action, src, _, _ in trashed if src.endswith(".txt")}
    items = []
    for entry, action, src, dst, at in trashed:
        row = row_by_path(conn, dst)
        if row is None and src.endswith(".txt") and _beside_picture(src, trashed, action):
            continue  # a caption: listed with its picture
        items.append(TrashItem(entry, action, src, dst, row.id if row else None,
                               _size(dst), at, int((action, sidecar_path(src)) in captions
                                                  and sidecar_path(src) != src)))
        if len(items) >= limit:
            break
    return items


def restore(conn: sqlite3.Connection, journal: Journal, library_dir: Path,
            entries: Sequence[int]) -> RestoreResult:
    """Put trashed pictures (by journal row) back where they were, with their captions,
    as one new action."""
    wanted = {i.entry: i for i in trash_contents(conn, library_dir, limit=1_000_000)}
    items = [wanted[e] for e in dict.fromkeys(entries) if e in wanted]
    result = RestoreResult(action_id=None)
    if not items:
        return result
    with journal.action("restore", f"{len(items)} file(s)") as action_id:
        result.action_id = action_id
        for item in items:
            try:
                back = journal.move(action_id, item.path, item.original)
                result.done.append((item.path, back))
                _restore_caption(conn, journal, action_id, item, back)
            except (OSError, JournalError) as e:
                result.failed.append({"path": item.original, "error": str(e)})
    return result


def _restore_caption(conn: sqlite3.Connection, journal: Journal, action_id: int,
                     item: TrashItem, back: str) -> None:
    caption = sidecar_path(item.original)
    if caption == item.original:
        return
    trashed = _text(journalrows.moved_to(conn, item.action_id, caption))
    if trashed and os.path.lexists(trashed) and not os.path.lexists(sidecar_path(back)):
        journal.move(action_id, trashed, sidecar_path(back))


def change_token(conn: sqlite3.Connection) -> str:
    """Changes whenever pictures come or go (scan, trash, undo), an action is recorded or
    undone, or a duplicate decision is made: compare two tokens to know."""
    return ".".join(str(p) for p in journalrows.change_stamp(conn))


def _beside_picture(caption: str, trashed: list[tuple[int, int, str, str, float]],
                    action: int) -> bool:
    stem = os.path.splitext(caption)[0]
    return any(a == action and not src.endswith(".txt") and os.path.splitext(src)[0] == stem
               for _, a, src, _, _ in trashed)


def _text(stored: str | bytes | None) -> str | None:
    return os.fsdecode(stored) if isinstance(stored, bytes) else stored


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


class History:
    """`lib.history`: what was done (newest first), undoing it, the trash, putting pictures back."""

    def __init__(self, library_dir: Path, conn: sqlite3.Connection, journal: Journal) -> None:
        self.dir = library_dir
        self.conn = conn
        self.journal = journal

    def undo(self, action_id: int | None = None) -> UndoReport:
        """Undo one action (default: the last one not undone yet)."""
        return self.journal.undo(action_id)

    def actions(self, limit: int = 50, offset: int = 0) -> list[ActionEntry]:
        """The journal, newest first: each action with what it moved or changed."""
        return actions(self.conn, self.dir, limit, offset)

    def count_actions(self) -> int:
        return count_actions(self.conn)

    def count_operations(self, action_id: int) -> int:
        """Files one action moved, wrote or made."""
        return journalrows.count_entries(self.conn, action_id)

    def trash(self, limit: int = 500) -> list[TrashItem]:
        """Pictures in the trash, newest first."""
        return trash_contents(self.conn, self.dir, limit)

    def restore(self, entries: Sequence[int]) -> RestoreResult:
        """Put trashed pictures back (one undoable action); `entries` from `trash`."""
        return restore(self.conn, self.journal, self.dir, entries)

    def change_token(self) -> str:
        """Differs whenever pictures, the journal or duplicate decisions changed."""
        return change_token(self.conn)
