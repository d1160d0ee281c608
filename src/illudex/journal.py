"""The journal: every change to a user's files is written down before it is made, and
`undo` reverses the last action exactly.

Operations never destroy data:
- `move` renames (same device) or copies, syncs, renames into place, and only then
  unlinks the source (across devices): a kill at any point leaves the file whole at its
  old place, its new one, or both.
- `write_text` keeps the old content in the library's backup folder first, and replaces
  files atomically (temp file + rename).
- `trash` is a move into a trash folder on the same device as the file.
Each journal row is committed as `pending` before the operation and marked `done` after;
undo looks at the file system to see how far a pending operation got.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from illudex.catalog.folders import folder_of
from illudex.catalog.images import move_row, row_by_path
from illudex.paths import is_under, to_catalog
from illudex.scan.walk import TRASH_DIR_NAME

PART_SUFFIX = ".illudex-part"


class JournalError(Exception):
    """An operation that cannot be done safely (the message says why)."""


@dataclass
class UndoReport:
    action_id: int | None
    kind: str = ""
    summary: str = ""
    restored: int = 0
    conflicts: list[str] = field(default_factory=list)


class Journal:
    def __init__(self, conn: sqlite3.Connection, library_dir: Path) -> None:
        self.conn = conn
        self.library_dir = library_dir
        self._seq = 0

    # --- recording -----------------------------------------------------------------

    @contextlib.contextmanager
    def action(self, kind: str, summary: str) -> Iterator[int]:
        """Open an action; its operations are undone together."""
        cur = self.conn.execute(
            "INSERT INTO actions (kind, summary, created_at) VALUES (?, ?, ?)",
            (kind, summary, time.time()),
        )
        action_id = int(cur.lastrowid)
        self._seq = 0
        yield action_id
        self.conn.execute("UPDATE actions SET state = 'done' WHERE id = ?", (action_id,))

    def _record(self, action_id: int, op: str, src: str | None, dst: str | None) -> int:
        self._seq += 1
        cur = self.conn.execute(
            "INSERT INTO journal (action_id, seq, op, src, dst) VALUES (?, ?, ?, ?, ?)",
            (action_id, self._seq, op, _stored(src), _stored(dst)),
        )
        return int(cur.lastrowid)

    def _done(self, row_id: int) -> None:
        self.conn.execute("UPDATE journal SET state = 'done' WHERE id = ?", (row_id,))

    # --- operations ----------------------------------------------------------------

    def move(self, action_id: int, src: str, dst: str) -> str:
        """Move `src` to `dst` (a free name beside it if taken); the catalog row follows."""
        if not os.path.lexists(src):
            raise JournalError(f"{src}: not there any more")
        dst = free_name(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        row_id = self._record(action_id, "move", src, dst)
        _move_file(src, dst)
        self._in_transaction(lambda: (self._follow(src, dst), self._done(row_id)))
        return dst

    def trash(self, action_id: int, path: str) -> str:
        return self.move(action_id, path, self.trash_path(action_id, path))

    def copy(self, action_id: int, src: str, dst: str) -> str:
        """Copy `src` to `dst` (a free name beside it if taken); undo trashes the copy."""
        dst = free_name(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        row_id = self._record(action_id, "create", dst, None)
        _copy_synced(src, dst + PART_SUFFIX)
        os.rename(dst + PART_SUFFIX, dst)
        self._done(row_id)
        return dst

    def symlink(self, action_id: int, src: str, dst: str) -> str:
        """A symbolic link at `dst` pointing to `src`; undo takes the link away."""
        dst = free_name(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        row_id = self._record(action_id, "create", dst, None)
        os.symlink(os.path.abspath(src), dst)
        self._done(row_id)
        return dst

    def write_text(self, action_id: int, path: str, text: str) -> None:
        """Write `text` to `path`, keeping any old content for undo."""
        if os.path.exists(path):
            backup = str(self.library_dir / "backups" / str(action_id) / f"{self._seq + 1}.bak")
            os.makedirs(os.path.dirname(backup), exist_ok=True)
            row_id = self._record(action_id, "write", path, backup)
            _copy_synced(path, backup)
        else:
            row_id = self._record(action_id, "create", path, None)
        _write_atomic(path, text)
        self._done(row_id)

    def record_tag_edit(self, edit_id: int | None, summary: str) -> int | None:
        """Put a catalog tag edit (already made, recorded in tag_edits) on the undo stack."""
        if edit_id is None:
            return None
        with self.action("tag-edit", summary) as action_id:
            self._done(self._record(action_id, "tag-edit", str(edit_id), None))
        return action_id

    def trash_path(self, action_id: int, path: str) -> str:
        """Where `path` goes when trashed: a trash folder on the same device."""
        absolute = os.path.abspath(path)
        base = self.library_dir / "trash"
        if not _same_device(self.library_dir, absolute):
            # Moving gigabytes across devices to "delete" would be slow: the trash goes
            # into the picture's own library folder, which the scanner skips.
            folder = self._library_folder(absolute) or os.path.dirname(absolute)
            base = Path(folder) / TRASH_DIR_NAME
        return str(base / str(action_id) / absolute.lstrip(os.sep))

    def _library_folder(self, path: str) -> str | None:
        folder_id = folder_of(self.conn, path)
        if folder_id is None:
            return None
        row = self.conn.execute("SELECT path FROM folders WHERE id = ?", (folder_id,)).fetchone()
        return row[0] if row else None

    # --- undo ------------------------------------------------------------------------

    def last_action(self) -> sqlite3.Row | None:
        return self.conn.execute(
            "SELECT * FROM actions WHERE state != 'undone' ORDER BY id DESC LIMIT 1"
        ).fetchone()

    def undo(self, action_id: int | None = None) -> UndoReport:
        action = (
            self.conn.execute("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()
            if action_id is not None else self.last_action()
        )
        if action is None:
            return UndoReport(action_id=None)
        report = UndoReport(action["id"], action["kind"], action["summary"])
        rows = self.conn.execute(
            "SELECT * FROM journal WHERE action_id = ? AND state != 'undone' ORDER BY seq DESC",
            (action["id"],),
        ).fetchall()
        for row in rows:
            conflict = self._undo_row(row)
            if conflict:
                report.conflicts.append(conflict)
            else:
                report.restored += 1
                self.conn.execute("UPDATE journal SET state = 'undone' WHERE id = ?", (row["id"],))
        if not report.conflicts:
            self.conn.execute("UPDATE actions SET state = 'undone' WHERE id = ?", (action["id"],))
        return report

    def _undo_row(self, row: sqlite3.Row) -> str | None:
        op, src, dst = row["op"], _real(row["src"]), _real(row["dst"])
        if op == "move":
            return self._undo_move(src, dst)
        if op == "write":
            if os.path.exists(dst):
                _copy_synced(dst, src + PART_SUFFIX)
                os.replace(src + PART_SUFFIX, src)
            return None
        if op == "create":
            if os.path.islink(src):
                os.unlink(src)  # a link we made holds no data
            elif os.path.exists(src):
                trash = self.trash_path(row["action_id"], src) + ".undone"
                os.makedirs(os.path.dirname(trash), exist_ok=True)
                _move_file(src, free_name(trash))
            return None
        if op == "tag-edit":
            from illudex.tags.history import TagEditError, undo_tag_edit

            try:
                undo_tag_edit(self.conn, int(src))
            except TagEditError as e:
                return str(e)
            return None
        return f"unknown journal operation {op!r}"

    def _undo_move(self, src: str, dst: str) -> str | None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dst + PART_SUFFIX)  # our own half-made copy from an interrupted move
        at_src, at_dst = os.path.lexists(src), os.path.lexists(dst)
        if at_src and at_dst:
            if not filecmp.cmp(src, dst, shallow=False):
                return f"{src}: a different file now exists there; {dst} left in place"
            # A cross-device move stopped after the copy: src is whole, dst is our copy.
            os.unlink(dst)
        elif at_dst:
            os.makedirs(os.path.dirname(src), exist_ok=True)
            _move_file(dst, src)
        elif not at_src:
            return f"{src}: the file is neither there nor at {dst}"
        self._in_transaction(lambda: self._follow(dst, src))
        return None

    # --- catalog --------------------------------------------------------------------

    def _follow(self, old: str, new: str) -> None:
        """Point the catalog row of a moved picture at its new place."""
        row = row_by_path(self.conn, old)
        if row is not None:
            # A trashed file is in no library folder, even where the trash lies inside one.
            in_trash = is_under(new, str(self.library_dir / "trash")) or \
                TRASH_DIR_NAME in Path(new).parts
            move_row(self.conn, row.id, new, None if in_trash else folder_of(self.conn, new))

    def _in_transaction(self, work: object) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            work()  # type: ignore[operator]
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise


def _stored(path: str | None) -> str | bytes | None:
    """A path for the journal: text, or the real bytes of a name that is not UTF-8 (which
    SQLite text cannot hold; the column takes bytes as they are)."""
    if path is None:
        return None
    display, raw = to_catalog(path)
    return display if raw is None else raw


def _real(stored: str | bytes | None) -> str | None:
    return os.fsdecode(stored) if isinstance(stored, bytes) else stored


def free_name(path: str) -> str:
    """`path`, or `stem (2).ext` and so on if something is already there."""
    if not os.path.lexists(path):
        return path
    stem, ext = os.path.splitext(path)
    n = 2
    while os.path.lexists(f"{stem} ({n}){ext}"):
        n += 1
    return f"{stem} ({n}){ext}"


def _move_file(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
        return
    except OSError as e:
        if e.errno != 18:  # EXDEV: another device; copy instead
            raise
    _copy_synced(src, dst + PART_SUFFIX)
    os.rename(dst + PART_SUFFIX, dst)
    os.unlink(src)


def _copy_synced(src: str, dst: str) -> None:
    shutil.copy2(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: str, text: str) -> None:
    tmp = path + PART_SUFFIX
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _same_device(a: Path | str, b: str) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(os.path.dirname(b) or ".").st_dev
    except OSError:
        return False
