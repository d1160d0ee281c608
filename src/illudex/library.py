"""The `Library` facade: one folder holding a catalog and its indexes, and every
operation the CLI, the REST API and the web UI offer.

    lib = Library.open()                 # $ILLUDEX_LIBRARY or the user's data dir
    lib.scan(["~/art"])                  # incremental
    report = lib.dupes(["~/art"])        # scans first if needed
    lib.resolve_dupes(report, trash=True)
    lib.undo()
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import platformdirs

from illudex.catalog.db import connect
from illudex.catalog.folders import list_folders
from illudex.catalog.images import ImageRow, row_by_path, rows_by_ids, rows_under
from illudex.dupes import actions as dupe_actions
from illudex.dupes import decisions
from illudex.dupes import features as dupe_features
from illudex.dupes.finder import DupesOptions, DupesReport, find_duplicates
from illudex.imageio import DEFAULT_MAX_PIXELS
from illudex.journal import Journal, UndoReport
from illudex.scan import ScanOptions, ScanReport, scan
from illudex.scan.worker import Analyser

ENV_LIBRARY = "ILLUDEX_LIBRARY"
CATALOG_NAME = "catalog.db"
Progress = Callable[[int, int, str], None]


class LibraryError(Exception):
    """A request the library cannot carry out, with the reason in words."""


def default_library_dir() -> Path:
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("illudex", appauthor=False))


def scan_analysers() -> tuple[Analyser, ...]:
    """The per-image analysers every scan runs in its decode workers."""
    return (Analyser(dupe_features.NAME, dupe_features.VERSION, dupe_features.extract),)


class Library:
    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.dir = directory
        self.conn = conn
        self.journal = Journal(conn, directory)
        self.max_pixels = int(os.environ.get("ILLUDEX_MAX_PIXELS", DEFAULT_MAX_PIXELS))
        self.workers: int | None = None

    @classmethod
    def open(cls, directory: str | Path | None = None) -> Library:
        path = Path(directory).expanduser() if directory else default_library_dir()
        try:
            path.mkdir(parents=True, exist_ok=True)
            conn = connect(path / CATALOG_NAME)
        except (OSError, sqlite3.Error) as e:
            raise LibraryError(f"cannot open the library at {path}: {e}") from None
        return cls(path.resolve(), conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- folders and scanning ------------------------------------------------------

    def folders(self) -> list[str]:
        return list_folders(self.conn)

    def scan(self, paths: Iterable[str | Path], progress: Progress | None = None) -> ScanReport:
        options = ScanOptions(
            analysers=scan_analysers(), workers=self.workers, max_pixels=self.max_pixels,
            exclude=frozenset({str(self.dir)}),
        )
        return scan(self.conn, [_absolute(p) for p in paths], options, progress)

    def image_ids(self, paths: Iterable[str | Path]) -> list[int]:
        """Catalogued pictures under `paths` (present in library folders)."""
        ids: set[int] = set()
        for path in paths:
            ids.update(row.id for row in rows_under(self.conn, _absolute(path)).values()
                       if row.folder_id is not None)
        return sorted(ids)

    def images(self, ids: Sequence[int]) -> dict[int, ImageRow]:
        return rows_by_ids(self.conn, ids)

    def image_at(self, path: str | Path) -> ImageRow:
        row = row_by_path(self.conn, _absolute(path))
        if row is None:
            raise LibraryError(f"{path}: not in the catalog (scan its folder first)")
        return row

    # --- duplicates ---------------------------------------------------------------

    def dupes(
        self,
        paths: Iterable[str | Path],
        options: DupesOptions = DupesOptions(),
        progress: Callable[[int, int], None] | None = None,
    ) -> DupesReport:
        return find_duplicates(self.conn, self.image_ids(paths), options, progress)

    def mark(self, a: str | Path, b: str | Path, relation: str) -> None:
        """Remember a person's decision on two pictures (never reported otherwise again)."""
        row_a, row_b = self.image_at(a), self.image_at(b)
        try:
            decisions.mark(self.conn, row_a.digest, row_b.digest, relation)
        except ValueError as e:
            raise LibraryError(str(e)) from None

    def plan_dupes(self, report: DupesReport, move_to: str | Path | None = None) -> list[
        dupe_actions.PlannedMove
    ]:
        return dupe_actions.plan(report, _absolute(move_to) if move_to else None)

    def resolve_dupes(
        self,
        moves: list[dupe_actions.PlannedMove],
        progress: Callable[[int, int], None] | None = None,
    ) -> dupe_actions.ActionResult:
        return dupe_actions.apply(self.journal, moves, progress)

    # --- journal -------------------------------------------------------------------

    def undo(self, action_id: int | None = None) -> UndoReport:
        return self.journal.undo(action_id)

    def history(self, limit: int = 20) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT id, kind, summary, created_at, state FROM actions ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()


def _absolute(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))
