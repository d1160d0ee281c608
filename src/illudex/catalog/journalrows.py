"""Rows of the journal: `actions` (what a person asked for) and `journal` (each file
operation of an action, written `pending` before it is done). Paths are stored as text, or
as the real bytes of a name that is not UTF-8; the journal module converts them."""

from __future__ import annotations

import sqlite3
import time

StoredPath = str | bytes | None


def open_action(conn: sqlite3.Connection, kind: str, summary: str) -> int:
    """A new action in state 'open'; its id."""
    cur = conn.execute("INSERT INTO actions (kind, summary, created_at) VALUES (?, ?, ?)",
                       (kind, summary, time.time()))
    return int(cur.lastrowid)


def set_action_state(conn: sqlite3.Connection, action_id: int, state: str) -> None:
    """'open' | 'done' | 'undone'."""
    conn.execute("UPDATE actions SET state = ? WHERE id = ?", (state, action_id))


def action(conn: sqlite3.Connection, action_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()


def last_action(conn: sqlite3.Connection) -> sqlite3.Row | None:
    """The newest action not undone."""
    return conn.execute(
        "SELECT * FROM actions WHERE state != 'undone' ORDER BY id DESC LIMIT 1").fetchone()


def add_entry(conn: sqlite3.Connection, action_id: int, seq: int, op: str,
              src: StoredPath, dst: StoredPath) -> int:
    """A 'pending' operation of `action_id`; its row id."""
    cur = conn.execute(
        "INSERT INTO journal (action_id, seq, op, src, dst) VALUES (?, ?, ?, ?, ?)",
        (action_id, seq, op, src, dst))
    return int(cur.lastrowid)


def set_entry_state(conn: sqlite3.Connection, row_id: int, state: str) -> None:
    """'pending' | 'done' | 'undone'."""
    conn.execute("UPDATE journal SET state = ? WHERE id = ?", (state, row_id))


def entries_to_undo(conn: sqlite3.Connection, action_id: int) -> list[sqlite3.Row]:
    """The action's operations not yet undone, last first."""
    return conn.execute(
        "SELECT * FROM journal WHERE action_id = ? AND state != 'undone' ORDER BY seq DESC",
        (action_id,)).fetchall()


def recent_actions(conn: sqlite3.Connection, limit: int, offset: int
                   ) -> list[tuple[int, str, str, float, str, int]]:
    """(id, kind, summary, created_at, state, operations) of the newest actions first."""
    return [tuple(r) for r in conn.execute(
        "SELECT a.id, a.kind, a.summary, a.created_at, a.state, "
        "(SELECT COUNT(*) FROM journal j WHERE j.action_id = a.id) "
        "FROM actions a ORDER BY a.id DESC LIMIT ? OFFSET ?", (limit, offset))]


def first_entries(conn: sqlite3.Connection, action_id: int, limit: int
                  ) -> list[tuple[str, StoredPath, StoredPath, str]]:
    """(op, src, dst, state) of an action's first operations, in order."""
    return [tuple(r) for r in conn.execute(
        "SELECT op, src, dst, state FROM journal WHERE action_id = ? ORDER BY seq LIMIT ?",
        (action_id, limit))]


def count_actions(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM actions").fetchone()[0])


def done_moves(conn: sqlite3.Connection
               ) -> list[tuple[int, int, StoredPath, StoredPath, float]]:
    """(row id, action id, src, dst, action time) of every finished move of an action not
    undone, newest first."""
    return [tuple(r) for r in conn.execute(
        "SELECT j.id, j.action_id, j.src, j.dst, a.created_at FROM journal j "
        "JOIN actions a ON a.id = j.action_id WHERE j.op = 'move' AND j.state = 'done' "
        "AND a.state != 'undone' ORDER BY j.id DESC")]


def moved_to(conn: sqlite3.Connection, action_id: int, src: StoredPath) -> StoredPath:
    """Where a finished move of `action_id` took `src`, or None."""
    row = conn.execute(
        "SELECT dst FROM journal WHERE action_id = ? AND op = 'move' AND state = 'done' "
        "AND src = ?", (action_id, src)).fetchone()
    return row[0] if row else None


def change_stamp(conn: sqlite3.Connection) -> list[object]:
    """Numbers that change whenever pictures come or go, an action is recorded or undone,
    or a duplicate decision is made."""
    images = conn.execute("SELECT images_version FROM search_state").fetchone()
    journal = conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(id), 0), "
        "COALESCE(SUM(state = 'undone'), 0) FROM actions").fetchone()
    decided = conn.execute("SELECT COUNT(*), COALESCE(MAX(at), 0) FROM dupe_decisions").fetchone()
    return [images[0] if images else 0, *journal, *decided]


def count_entries(conn: sqlite3.Connection, action_id: int) -> int:
    """How many operations an action has (a caption write: one per file written)."""
    return int(conn.execute("SELECT COUNT(*) FROM journal WHERE action_id = ?",
                            (action_id,)).fetchone()[0])
