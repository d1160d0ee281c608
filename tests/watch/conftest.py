"""A real watcher (watchdog observer, real catalog) running in a thread on tmp folders."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from illudex.library import Library
from illudex.watch import FollowUps, Watcher, WatchOptions
from tests.fixtures.model_env import isolated_models, tagger_dir  # noqa: F401

SETTLE = 0.6  # above watchdog's 0.5 s wait for the second half of a move
WAIT = 15.0  # the most any condition may take; they take well under a second here


def wait_for(condition: Callable[[], object], timeout: float = WAIT) -> None:
    """Poll until `condition()` is true; fail the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not true after {timeout} s: {condition}")


class Running:
    def __init__(self, watcher: Watcher, thread: threading.Thread, stop: threading.Event,
                 errors: list[BaseException]) -> None:
        self.watcher, self.thread, self.stop, self.errors = watcher, thread, stop, errors

    def query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        """Read the catalog on a connection of the test's own (the watcher's is busy)."""
        conn = sqlite3.connect(self.watcher.lib.dir / "catalog.db", timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def count(self) -> int:
        return int(self.query(
            "SELECT COUNT(*) FROM images WHERE folder_id IS NOT NULL")[0][0])

    def row(self, path: Path) -> tuple[int, int] | None:
        rows = self.query("SELECT id, size FROM images WHERE path = ?", str(path))
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors


@pytest.fixture
def start_watcher(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """`start_watcher(root, followups=..., rescan_s=0) -> Running`, up to date when it returns."""
    started: list[tuple[Running, Library]] = []

    def start(*roots: Path, followups: FollowUps | None = None, rescan_s: float = 0.0,
              library: Path | None = None) -> Running:
        lib = Library.open(library or tmp_path / "library")
        lib.workers = 1
        options = WatchOptions(settle_s=SETTLE, max_wait_s=10.0, rescan_s=rescan_s,
                               tick_s=0.05, followups=followups or FollowUps())
        watcher = Watcher(lib, [str(r) for r in roots], options)
        stop, errors = threading.Event(), []

        def body() -> None:
            try:
                watcher.run(stop)
            except BaseException as e:
                errors.append(e)

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        running = Running(watcher, thread, stop, errors)
        started.append((running, lib))
        wait_for(watcher.ready.is_set)
        return running

    yield start
    for running, lib in started:
        running.stop.set()
        running.thread.join(timeout=WAIT)
        lib.close()
