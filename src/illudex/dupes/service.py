"""A library's duplicates (`lib.dupes`): find them, remember a person's decisions about
pairs and keepers (by content digest, so they survive moves and rescans), plan and carry
out the moves (journalled, undoable), and show where two copies overlap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from illudex.catalog.images import ImageRow, rows_by_ids
from illudex.dupes import actions, decisions
from illudex.dupes.finder import DupesOptions, DupesReport, find_duplicates
from illudex.errors import NotFound
from illudex.journal import Journal
from illudex.pictures import absolute, ids_at, picture_at
from illudex.progress import ProgressCallback

if TYPE_CHECKING:
    from illudex.dupes.align import PairAlignment


class DupesService:
    def __init__(self, conn: sqlite3.Connection, journal: Journal) -> None:
        self.conn = conn
        self.journal = journal

    def find(
        self,
        paths: Iterable[str | Path],
        options: DupesOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> DupesReport:
        """Duplicate groups and alternates among the pictures under `paths` (scanned)."""
        return find_duplicates(self.conn, ids_at(self.conn, paths), options or DupesOptions(),
                               progress)

    def mark(self, a: str | Path, b: str | Path, relation: str) -> None:
        """Remember a person's decision on two pictures (never reported otherwise again)."""
        row_a, row_b = picture_at(self.conn, a), picture_at(self.conn, b)
        decisions.mark(self.conn, row_a.digest, row_b.digest, relation)

    def forget(self, a: str | Path, b: str | Path) -> bool:
        """Drop a recorded decision about two pictures (True if there was one)."""
        return decisions.forget(self.conn, picture_at(self.conn, a).digest,
                                picture_at(self.conn, b).digest)

    def choose_keeper(self, image_id: int, group: Sequence[int] = ()) -> ImageRow:
        """Make a picture the keeper of its duplicate group from now on (remembered by
        content, like `mark`); a keeper chosen before among `group` gives way."""
        rows = rows_by_ids(self.conn, [image_id, *group])
        if image_id not in rows:
            raise NotFound(f"no picture with id {image_id} in the catalog")
        decisions.choose_keeper(self.conn, rows[image_id].digest,
                                [r.digest for r in rows.values()])
        return rows[image_id]

    def forget_keeper(self, path: str | Path) -> bool:
        """Let the finder suggest the keeper again for this picture's group."""
        return decisions.forget_keeper(self.conn, picture_at(self.conn, path).digest)

    def plan(self, report: DupesReport, move_to: str | Path | None = None
             ) -> list[actions.PlannedMove]:
        """What resolving the report would do: trash (or move to `move_to`) all but keepers."""
        return actions.plan(report, absolute(move_to) if move_to else None)

    def resolve(self, moves: list[actions.PlannedMove],
                progress: ProgressCallback | None = None) -> actions.ActionResult:
        """Carry out planned moves as one undoable action."""
        return actions.apply(self.journal, moves, progress)

    def align(self, a: int, b: int) -> PairAlignment | None:
        """Where two copies show the same content (crop boxes), for comparing them."""
        from illudex.dupes.align import align_pair  # numpy, OpenCV

        return align_pair(self.conn, a, b)
