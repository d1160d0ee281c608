"""The journal: every change to a user's files is written down before it is made, and
`undo` reverses the last action exactly.

Operations never destroy data:
- `move` renames (same device) or copies, syncs, renames into place, and only then
  unlinks the source (across devices): a kill at any point leaves the file whole at its
  old place, its new one, or both.
- `write_text` first makes a complete, synced backup of the old content in the library's
  backup folder (its digest in its name), and only then replaces the file atomically
  (temp file + rename); undo never restores from a backup that fails its digest.
- `trash` is a move into a trash folder on the same device as the file.
Each journal row is committed as `pending` before the operation and marked `done` after;
undo looks at the file system to see how far a pending operation got. A half-written
`*.illudex-part` file is removed when its operation fails, and by undo after a kill.
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from illudex.catalog import journalrows as rows
from illudex.catalog.folders import folder_of, folder_path, list_folders
from illudex.catalog.images import move_row, row_by_path
from illudex.catalog.transaction import transaction
from illudex.errors import Conflict
from illudex.filecheck import content_digest, inside_folders
from illudex.paths import is_under, to_catalog
from illudex.scan.walk import TRASH_DIR_NAME

PART_SUFFIX = ".illudex-part"
_BACKUP_NAME = re.compile(r"^\d+-(?P<digest>[0-9a-f]{32})\.bak$")  # `7-<blake2b-128>.bak`


class JournalError(Conflict):
    """An operation that cannot be done safely (the message says why)."""


class NotNoted(JournalError):
    """The file operation was done, but the catalog could not note it (a full library
    disk, say): the journal row stays `pending`, so `undo` still reverses it."""

    def __init__(self, message: str, dst: str) -> None:
        super().__init__(message)
        self.dst = dst


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
        action_id = rows.open_action(self.conn, kind, summary)
        self._seq = 0
        yield action_id
        rows.set_action_state(self.conn, action_id, "done")

    def _record(self, action_id: int, op: str, src: str | None, dst: str | None) -> int:
        self._seq += 1
        return rows.add_entry(self.conn, action_id, self._seq, op, _stored(src), _stored(dst))

    def _done(self, row_id: int) -> None:
        rows.set_entry_state(self.conn, row_id, "done")

    # --- operations ----------------------------------------------------------------

    def move(self, action_id: int, src: str, dst: str) -> str:
        """Move `src` to `dst` (a free name beside it if taken); the catalog row follows."""
        if not os.path.lexists(src):
            raise JournalError(f"{src}: not there any more")
        self._check_not_led_out(src)
        dst = free_name(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        row_id = self._record(action_id, "move", src, dst)
        try:
            _move_file(src, dst)
        except OSError:
            self._nothing_done(row_id)
            raise
        try:
            self._in_transaction(lambda: (self._follow(src, dst), self._done(row_id)))
        except sqlite3.Error as e:
            raise NotNoted(f"{src} was moved to {dst}, but the catalog could not note it "
                           f"({e}); `illudex undo` puts it back", dst) from e
        return dst

    def trash(self, action_id: int, path: str) -> str:
        return self.move(action_id, path, self.trash_path(action_id, path))

    def copy(self, action_id: int, src: str, dst: str) -> str:
        """Copy `src` to `dst` (a free name beside it if taken); undo trashes the copy."""
        self._check_not_led_out(src)
        dst = free_name(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        row_id = self._record(action_id, "create", dst, None)
        try:
            _copy_synced(src, dst + PART_SUFFIX)
            os.rename(dst + PART_SUFFIX, dst)
        except OSError:
            self._nothing_done(row_id)
            raise
        self._done(row_id)
        return dst

    def make_folders(self, action_id: int, folder: str) -> None:
        """Create `folder` and any missing parents, each recorded: undo removes the ones
        this action made once they are empty again (it never removes anything else)."""
        missing: list[str] = []
        path = os.path.abspath(folder)
        while not os.path.exists(path) and os.path.dirname(path) != path:
            missing.append(path)
            path = os.path.dirname(path)
        for made in reversed(missing):  # outermost first: undone last
            row_id = self._record(action_id, "mkdir", made, None)
            os.makedirs(made, exist_ok=True)
            self._done(row_id)

    def symlink(self, action_id: int, src: str, dst: str) -> str:
        """A symbolic link at `dst` pointing to `src`; undo takes the link away."""
        dst = free_name(dst)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        row_id = self._record(action_id, "create", dst, None)
        os.symlink(os.path.abspath(src), dst)
        self._done(row_id)
        return dst

    def write_text(self, action_id: int, path: str, text: str) -> None:
        """Write `text` to `path`, keeping any old content for undo.

        The backup is whole and on disk (its digest in its name) before the journal row
        that points to it exists, and the row exists before the file is touched: a kill
        at any point leaves either the old file untouched or a backup undo can trust."""
        self._check_not_led_out(path)
        if os.path.exists(path):
            folder = self.library_dir / "backups" / str(action_id)
            os.makedirs(folder, exist_ok=True)
            part = str(folder / f"{self._seq + 1}.bak{PART_SUFFIX}")
            digest = _copy_synced(path, part)
            backup = str(folder / f"{self._seq + 1}-{digest}.bak")
            os.rename(part, backup)
            _sync_folder(str(folder))
            row_id = self._record(action_id, "write", path, backup)
        else:
            row_id = self._record(action_id, "create", path, None)
        _write_atomic(path, text)
        self._done(row_id)

    def tag_edit(self, summary: str, edit: Callable[[], int | None]) -> int | None:
        """Make a catalog tag edit and put it on the undo stack in one transaction: a kill
        leaves both or neither (an edit made but not journalled could not be undone, and
        `undo` would reverse the edit before it instead)."""
        with transaction(self.conn, immediate=True):  # a savepoint inside a caller's
            edit_id = edit()
            if edit_id is None:
                return None
            with self.action("tag-edit", summary) as action_id:
                self._done(self._record(action_id, "tag-edit", str(edit_id), None))
            return action_id

    def record_tag_edit(self, edit_id: int | None, summary: str) -> int | None:
        """Put a catalog tag edit already made (recorded in tag_edits) on the undo stack.
        Prefer `tag_edit`, which makes the edit in the same transaction."""
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

    def _check_not_led_out(self, path: str) -> None:
        """Refuse to move, copy or write a file reached through a symbolic link (in a
        folder above it) that leads out of the library folders: the file would be one
        nobody asked illudex to touch. The entry itself may be a link: moving a link
        moves only the link."""
        entry = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))),
                             os.path.basename(path))
        if entry == os.path.abspath(path):
            return
        # A picture scanned on its own is a library "folder" of one: its caption lives
        # in the folder around it.
        places = [f if os.path.isdir(f) else os.path.dirname(f) for f in list_folders(self.conn)]
        places.append(str(self.library_dir))
        if not inside_folders(entry, places):
            raise JournalError(f"{path}: reached through a symbolic link, it is {entry}, "
                               "outside the library folders: not touched")

    def _library_folder(self, path: str) -> str | None:
        folder_id = folder_of(self.conn, path)
        if folder_id is None:
            return None
        return folder_path(self.conn, folder_id)

    # --- undo ------------------------------------------------------------------------

    def last_action(self) -> sqlite3.Row | None:
        return rows.last_action(self.conn)

    def undo(self, action_id: int | None = None) -> UndoReport:
        action = (rows.action(self.conn, action_id) if action_id is not None
                  else self.last_action())
        if action is None:
            return UndoReport(action_id=None)
        report = UndoReport(action["id"], action["kind"], action["summary"])
        for row in rows.entries_to_undo(self.conn, action["id"]):
            conflict = self._undo_and_mark(row)
            if conflict:
                report.conflicts.append(conflict)
            else:
                report.restored += 1
        if not report.conflicts:
            rows.set_action_state(self.conn, action["id"], "undone")
        # A backup a kill cut short before it was journalled: nothing refers to it.
        for part in (self.library_dir / "backups" / str(action["id"])).glob(f"*{PART_SUFFIX}"):
            part.unlink(missing_ok=True)
        return report

    def _undo_and_mark(self, row: sqlite3.Row) -> str | None:
        """Undo one journal row and mark it undone; a conflict in words, or None."""
        if row["op"] == "tag-edit":
            # Catalog only: the undo and its mark commit together, so a kill between
            # them cannot leave an undone edit that the journal still offers to undo.
            with transaction(self.conn, immediate=True):
                return self._undo_row(row) or self._mark_undone(row["id"])
        try:
            conflict = self._undo_row(row)
        except OSError as e:  # a read-only folder, a full disk: say so, go on
            where = e.filename or _real(row["src"])
            return f"{where}: {e.strerror or e}"
        return conflict or self._mark_undone(row["id"])

    def _mark_undone(self, row_id: int) -> None:
        rows.set_entry_state(self.conn, row_id, "undone")

    def _undo_row(self, row: sqlite3.Row) -> str | None:
        op, src, dst = row["op"], _real(row["src"]), _real(row["dst"])
        if op == "move":
            return self._undo_move(src, dst)
        if op == "write":
            return _restore_backup(src, dst, finished=row["state"] == "done")
        if op == "create":
            _remove_part(src)  # our own half-written file from an interrupted write
            if os.path.islink(src):
                os.unlink(src)  # a link we made holds no data
            elif os.path.exists(src):
                trash = self.trash_path(row["action_id"], src) + ".undone"
                os.makedirs(os.path.dirname(trash), exist_ok=True)
                _move_file(src, free_name(trash))
            return None
        if op == "mkdir":
            with contextlib.suppress(OSError):  # not empty (someone put files there): keep it
                os.rmdir(src)
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
        _remove_part(dst)  # our own half-made copy from an interrupted move
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

    def _in_transaction(self, work: Callable[[], object]) -> None:
        # Inside the caller's transaction (a tag edit) this is a savepoint of it.
        with transaction(self.conn, immediate=True):
            work()

    def _nothing_done(self, row_id: int) -> None:
        """An operation that failed cleanly (the source untouched, no part file left):
        there is nothing for undo to reverse."""
        with contextlib.suppress(sqlite3.Error):
            rows.set_entry_state(self.conn, row_id, "undone")


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


def _copy_synced(src: str, dst: str) -> str:
    """Copy `src` to `dst` (data, then mode and times) and sync it; returns the digest of
    the bytes written. On any failure (a full disk) `dst` is removed, never left half."""
    digest = hashlib.blake2b(digest_size=16)
    try:
        with open(src, "rb") as inp, open(dst, "wb") as out:
            while chunk := inp.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        shutil.copystat(src, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dst)
        raise
    return digest.hexdigest()


def _restore_backup(path: str, backup: str, finished: bool) -> str | None:
    """Put a caption's backup back in place, if it is the backup that was made."""
    _remove_part(path)  # our own half-written file from an interrupted write
    if not os.path.exists(backup):
        return f"{path}: its backup {backup} is missing; the file was left as it is"
    named = _BACKUP_NAME.match(os.path.basename(backup))
    if named is None and not finished:
        # Made before backups carried a digest, by a write that never finished: the
        # copy may have been cut short. The file itself may well be intact.
        return f"{path}: its backup {backup} may be incomplete; the file was left as it is"
    if named and content_digest(backup) != named["digest"]:
        return f"{path}: its backup {backup} is damaged; the file was left as it is"
    _copy_synced(backup, path + PART_SUFFIX)
    os.replace(path + PART_SUFFIX, path)
    return None


def _remove_part(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path + PART_SUFFIX)


def _sync_folder(folder: str) -> None:
    """Make a rename in `folder` durable (the entry itself, not only the file's data)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: str, text: str) -> None:
    tmp = path + PART_SUFFIX
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)


def _same_device(a: Path | str, b: str) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(os.path.dirname(b) or ".").st_dev
    except OSError:
        return False
