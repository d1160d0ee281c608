"""Scanning: bring the catalog in line with the folders, doing as little work as possible.

Unchanged files (same size and mtime) are skipped; new and changed files are read once
in worker processes (hash + decode + every analyser); a new file whose content matches
a catalogued file that is gone is a move and keeps that file's row (tags, decisions);
catalogued files no longer on disk leave the catalog. Results are committed in batches,
so an interrupted scan keeps all finished work and the next scan resumes from there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from illudex.catalog import features as feature_rows
from illudex.catalog import images as image_rows
from illudex.catalog import scanerrors
from illudex.catalog.folders import ensure_folder
from illudex.catalog.transaction import transaction
from illudex.paths import is_under, sidecar_path, to_catalog
from illudex.picturefiles import DEFAULT_MAX_PIXELS, is_image_name
from illudex.progress import ProgressCallback, notify
from illudex.scan.walk import FileEntry, WalkResult, walk
from illudex.scan.worker import (
    WORKER_MODULES,
    Analyser,
    FileResult,
    WorkerConfig,
    init_worker,
    process,
    process_file,
)
from illudex.tags.sidecar import read_sidecar

COMMIT_EVERY_FILES = 256
COMMIT_EVERY_SECONDS = 2.0
INLINE_BELOW = 24  # a pool costs more to start than a few files cost to decode


@dataclass
class ScanReport:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "moved": self.moved,
                "removed": self.removed, "unchanged": self.unchanged, "errors": self.errors}

    def merge(self, other: ScanReport) -> None:
        for name in ("added", "updated", "moved", "removed", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class ScanOptions:
    analysers: tuple[Analyser, ...] = ()
    workers: int | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    exclude: frozenset[str] = frozenset()  # folders never to index (the library's own)
    # Another engine for reading and analysing (illudex.engines: Ray): the same tasks in,
    # the same FileResults out, in any order; the catalog is still written here.
    engine: FileEngine | None = None


FileTask = tuple[str, int, int]  # path, size, mtime_ns
FileEngine = Callable[[list[FileTask], WorkerConfig], Iterable[FileResult]]


def scan(
    conn: sqlite3.Connection,
    roots: Iterable[str],
    options: ScanOptions,
    progress: ProgressCallback | None = None,
) -> ScanReport:
    report = ScanReport()
    for root in roots:
        report.merge(scan_folder(conn, os.path.abspath(root), options, progress))
    return report


def scan_folder(
    conn: sqlite3.Connection, root: str, options: ScanOptions, progress: ProgressCallback | None
) -> ScanReport:
    report = ScanReport()
    problem = _not_scannable(root)
    if problem:
        report.errors.append({"path": root, "error": problem})
        return report
    folder_id = ensure_folder(conn, root)  # a picture given alone is a folder of one
    if os.path.isdir(root):
        listing = walk(root, options.exclude)
        existing = image_rows.rows_under(conn, root)
    else:
        listing, existing = _one_picture(conn, root)
    report.errors.extend({"path": e.path, "error": e.error} for e in listing.errors)
    todo = _plan(conn, listing, existing, options, report, folder_id)
    gone = _vanished(listing, existing)
    claimed = _process(conn, todo, existing, gone, options, report, folder_id, progress)
    _remove(conn, [row.id for path, row in gone.items() if path not in claimed], report)
    return report


def _not_scannable(root: str) -> str | None:
    """Why `root` cannot be scanned (None: a folder, or a file with a picture's name)."""
    if os.path.isdir(root):
        return None
    if not os.path.exists(root):
        return "no such file or folder"
    if not os.path.isfile(root):
        return "not a file or folder"
    if not is_image_name(os.path.basename(root)):
        return "not a picture (its name has no picture suffix)"
    return None


def _one_picture(
    conn: sqlite3.Connection, path: str
) -> tuple[WalkResult, dict[str, image_rows.ImageRow]]:
    """The walk of a single picture file, and its catalog row if it has one."""
    st = os.stat(path)
    txt = sidecar_path(path)
    sidecars = {txt: os.stat(txt).st_mtime_ns} if os.path.isfile(txt) else {}
    listing = WalkResult(files=[FileEntry(path, st.st_size, st.st_mtime_ns)], errors=[],
                         unlisted=[], sidecars=sidecars)
    row = image_rows.row_by_path(conn, path)
    return listing, ({path: row} if row is not None else {})


def _plan(
    conn: sqlite3.Connection,
    listing: WalkResult,
    existing: dict[str, image_rows.ImageRow],
    options: ScanOptions,
    report: ScanReport,
    folder_id: int,
) -> list[FileEntry]:
    """Files that need reading; unchanged ones get their sidecar and folder brought up to date."""
    stale = _stale_feature_ids(conn, options.analysers)
    failed = _known_failures(conn)
    todo: list[FileEntry] = []
    with transaction(conn):
        for entry in listing.files:
            row = existing.get(entry.path)
            fresh = row and row.size == entry.size and row.mtime_ns == entry.mtime_ns
            if fresh and row.id not in stale:
                _refresh_unchanged(conn, row, listing.sidecars, folder_id, report)
                report.unchanged += 1
            elif not row and failed.get(to_catalog(entry.path)[0]) == (entry.size, entry.mtime_ns):
                report.errors.append(
                    {"path": entry.path, "error": failed.error(to_catalog(entry.path)[0])}
                )
            else:
                todo.append(entry)
    return todo


def _refresh_unchanged(
    conn: sqlite3.Connection, row: image_rows.ImageRow, sidecars: dict[str, int], folder_id: int,
    report: ScanReport,
) -> None:
    if row.folder_id is None:
        image_rows.set_folder(conn, row.id, folder_id)
    txt = sidecar_path(row.path)
    mtime = sidecars.get(txt)
    if mtime != row.sidecar_mtime_ns:
        _set_caption(conn, row.id, txt, mtime, report)


class _Failures(dict[str, tuple[int, int]]):
    reasons: dict[str, str]

    def error(self, path: str) -> str:
        return self.reasons.get(path, "unreadable")


def _known_failures(conn: sqlite3.Connection) -> _Failures:
    failures = _Failures()
    failures.reasons = {}
    for path, (size, mtime_ns, error) in scanerrors.known(conn).items():
        failures[path] = (size, mtime_ns)
        failures.reasons[path] = error
    return failures


def _stale_feature_ids(conn: sqlite3.Connection, analysers: Sequence[Analyser]) -> set[int]:
    """Images whose stored features are missing or from an older analyser version."""
    if not analysers:
        return set()
    all_ids = image_rows.all_ids(conn)
    stale: set[int] = set()
    for analyser in analysers:
        current = {
            image_id for image_id, version in feature_rows.versions(conn, analyser.name)
            .items() if version == analyser.version
        }
        stale |= all_ids - current
    return stale


def _vanished(listing: WalkResult, existing: dict[str, image_rows.ImageRow]) -> dict[
    str, image_rows.ImageRow
]:
    """Catalogued files not seen in the walk (excluding folders that could not be listed)."""
    seen = {f.path for f in listing.files}
    return {
        path: row for path, row in existing.items()
        if path not in seen and not any(is_under(path, d) for d in listing.unlisted)
    }


def _process(
    conn: sqlite3.Connection,
    todo: list[FileEntry],
    existing: dict[str, image_rows.ImageRow],
    gone: dict[str, image_rows.ImageRow],
    options: ScanOptions,
    report: ScanReport,
    folder_id: int,
    progress: ProgressCallback | None,
) -> set[str]:
    """Read `todo` in workers and store results in batches; returns vanished paths claimed
    by moves."""
    gone_by_digest: dict[str, list[image_rows.ImageRow]] = {}
    for row in gone.values():
        gone_by_digest.setdefault(row.digest, []).append(row)
    claimed: set[str] = set()
    writer = _BatchWriter(conn)
    try:
        for done, result in enumerate(_results(todo, options), start=1):
            writer.add(lambda r=result: _store(conn, r, existing, gone_by_digest, claimed,
                                               report, folder_id))
            notify(progress, "scan", done, len(todo), result.path)
        writer.flush()
    finally:
        writer.abandon()
    return claimed


class _BatchWriter:
    """Applies writes in transactions of a few hundred files or a few seconds of work."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.pending: list[Callable[[], None]] = []
        self.since = time.monotonic()

    def add(self, write: Callable[[], None]) -> None:
        self.pending.append(write)
        if len(self.pending) >= COMMIT_EVERY_FILES or \
                time.monotonic() - self.since > COMMIT_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with transaction(self.conn, immediate=True):
                for write in self.pending:
                    write()
        self.pending = []
        self.since = time.monotonic()

    def abandon(self) -> None:
        self.pending = []


def _results(todo: list[FileEntry], options: ScanOptions) -> Iterator[FileResult]:
    config = WorkerConfig(analysers=options.analysers, max_pixels=options.max_pixels)
    tasks = [(f.path, f.size, f.mtime_ns) for f in todo]
    if options.engine is not None and tasks:
        yield from options.engine(tasks, config)
        return
    workers = options.workers or os.cpu_count() or 1
    if len(tasks) < INLINE_BELOW or workers <= 1:
        for task in tasks:
            yield process_file(task, config)
        return
    import multiprocessing
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    # The server imports these once; every worker forks from it with them loaded.
    ctx.set_forkserver_preload([*WORKER_MODULES, *(a.module for a in options.analysers)])
    forkserver.ensure_running()  # before Ctrl-C is held back: it must not inherit that
    pool = None
    try:
        with _interrupt_deferred():
            pool = ctx.Pool(workers, initializer=init_worker, initargs=(config,))
        yield from pool.imap(process, tasks, chunksize=4)
        pool.close()
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    finally:
        if pool is not None:
            pool.join()


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Ctrl-C held back while the worker pool starts. Interrupted there, Python's Pool
    leaves the workers it has started, and each fails loudly on the pool's vanished
    semaphores; held back, the interrupt lands once the pool can be stopped."""
    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _store(
    conn: sqlite3.Connection,
    result: FileResult,
    existing: dict[str, image_rows.ImageRow],
    gone_by_digest: dict[str, list[image_rows.ImageRow]],
    claimed: set[str],
    report: ScanReport,
    folder_id: int,
) -> None:
    if result.error and not result.width:
        _record_failure(conn, result, existing, report)
        return
    scanerrors.clear(conn, result.path)
    facts = image_rows.ImageFacts(
        path=result.path, size=result.size, mtime_ns=result.mtime_ns, digest=result.digest or "",
        width=result.width, height=result.height, format=result.format, mode=result.mode,
        has_alpha=result.has_alpha, animated=result.animated, n_frames=result.n_frames,
        params=result.params,
    )
    moved_from = _claim_move(result, existing, gone_by_digest, claimed)
    if moved_from is not None:
        image_rows.move_row(conn, moved_from.id, result.path, folder_id)
        report.moved += 1
    elif result.path in existing:
        report.updated += 1
    else:
        report.added += 1
    image_id = image_rows.upsert(conn, facts, folder_id)
    feature_rows.store(conn, image_id, result.features)
    txt = sidecar_path(result.path)
    mtime = _mtime(txt)
    _set_caption(conn, image_id, txt, mtime, report)
    if result.error:  # decoded, but an analyser failed: keep the row, report the problem
        report.errors.append({"path": result.path, "error": result.error})


def _claim_move(
    result: FileResult,
    existing: dict[str, image_rows.ImageRow],
    gone_by_digest: dict[str, list[image_rows.ImageRow]],
    claimed: set[str],
) -> image_rows.ImageRow | None:
    if result.path in existing:
        return None
    for row in gone_by_digest.get(result.digest or "", []):
        if row.path not in claimed:
            claimed.add(row.path)
            return row
    return None


def _record_failure(
    conn: sqlite3.Connection,
    result: FileResult,
    existing: dict[str, image_rows.ImageRow],
    report: ScanReport,
) -> None:
    error = result.error or "unknown error"
    if result.digest is not None:
        # Its bytes were read and are no picture: skip it until it changes. A file that
        # could not be read at all (permissions, gone, I/O) is tried again next time.
        scanerrors.record(conn, result.path, result.size, result.mtime_ns, error)
    if result.path in existing:  # it was a picture and is no longer one: its old data is wrong
        image_rows.delete_rows(conn, [existing[result.path].id])
        report.removed += 1
    report.errors.append({"path": result.path, "error": error})


def _remove(conn: sqlite3.Connection, ids: list[int], report: ScanReport) -> None:
    if not ids:
        return
    with transaction(conn, immediate=True):
        image_rows.delete_rows(conn, ids)
    report.removed += len(ids)


def _set_caption(
    conn: sqlite3.Connection, image_id: int, txt: str, mtime: int | None, report: ScanReport
) -> None:
    """The image's sidecar tags from caption file `txt` (mtime None: there is none)."""
    try:
        names = read_sidecar(txt) if mtime is not None else []
    except OSError as e:
        # Reported; the tags the catalog had stay, and the next scan tries again.
        report.errors.append({"path": txt, "error": f"cannot read caption: {e.strerror or e}"})
        return
    image_rows.set_sidecar_tags(conn, image_id, names, mtime)


def _mtime(path: str) -> int | None:
    """mtime of the caption file at `path`; None if there is none (or a folder, or a
    symbolic link: a link's text may come from anywhere, and links are not followed)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_mtime_ns if stat.S_ISREG(st.st_mode) else None
