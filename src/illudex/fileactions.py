"""File work on chosen pictures (`lib.files`): trash, move or copy them with their caption
files, or export clusters into folders named by their labels. Every file operation goes
through the journal, so one `undo` takes a whole request back (folders made included).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from illudex.catalog.folders import list_folders
from illudex.catalog.images import rows_by_ids
from illudex.errors import LibraryError
from illudex.journal import Journal, JournalError
from illudex.pictures import absolute
from illudex.progress import ProgressCallback, notify

if TYPE_CHECKING:
    from illudex.cluster import ClusterResult

HOW = ("trash", "move", "copy")
EXPORT_MODES = ("move", "copy", "link")


class PictureFiles:
    def __init__(self, conn: sqlite3.Connection, journal: Journal) -> None:
        self.conn = conn
        self.journal = journal

    def handle(
        self, image_ids: Sequence[int], how: str, dest: str | Path | None = None
    ) -> tuple[int | None, list[dict[str, str]]]:
        """Trash, move or copy (`how`) these pictures with their captions, undoably.

        Returns the journal action and the files that could not be handled (with why).
        """
        from illudex.cluster.export import sidecars_of
        from illudex.filecheck import why_not

        if how not in HOW:
            raise LibraryError(f"pictures can be trashed, moved or copied, not {how!r}")
        if how != "trash" and not dest:
            raise LibraryError(f"say which folder to {how} the pictures to")
        rows = rows_by_ids(self.conn, list(image_ids))
        failed: list[dict[str, str]] = []
        where = f" to {dest}" if dest else ""
        with self.journal.action(f"pictures-{how}", f"{how} {len(rows)} picture(s){where}") as a:
            if dest:
                self.journal.make_folders(a, absolute(dest))  # undo removes them again
            folders = list_folders(self.conn)
            for row in rows.values():
                problem = why_not(row, folders)
                if problem:  # no longer the picture that was chosen: left alone
                    failed.append({"path": row.path, "error": f"left as it is: {problem}"})
                    continue
                for path in (Path(row.path), *sidecars_of(Path(row.path))):
                    try:
                        self._one(a, how, str(path), dest)
                    except (OSError, JournalError) as e:
                        failed.append({"path": str(path), "error": str(e)})
        return a, failed

    def export_clusters(
        self, result: ClusterResult, dest: str | Path, *, mode: str = "copy",
        progress: ProgressCallback | None = None,
        clusters: Sequence[int] | None = None,
    ) -> int:
        """Put each cluster's pictures (and captions) in a folder named by its label
        (only the `clusters` named, when given); undo also removes the folders made."""
        from illudex.cluster import export_plan

        if mode not in EXPORT_MODES:
            raise LibraryError(f"export mode must be move, copy or link, not {mode!r}")
        plan = export_plan(result, absolute(dest), clusters=clusters)
        if not plan:
            raise LibraryError("nothing to export: those clusters hold no pictures")
        operation = {"move": self.journal.move, "copy": self.journal.copy,
                     "link": self.journal.symlink}[mode]
        with self.journal.action(f"cluster-{mode}", f"{mode} {len(plan)} file(s) into "
                                 f"{dest}") as action:
            for folder in sorted({str(dst.parent) for _, dst in plan}):
                self.journal.make_folders(action, folder)
            for n, (src, dst) in enumerate(plan, start=1):
                operation(action, str(src), str(dst))  # the journal takes str
                notify(progress, "export", n, len(plan))
        return action

    def _one(self, action: int, how: str, path: str, dest: str | Path | None) -> None:
        if how == "trash":
            self.journal.trash(action, path)
            return
        operation = self.journal.move if how == "move" else self.journal.copy
        operation(action, path, os.path.join(absolute(str(dest)), os.path.basename(path)))
