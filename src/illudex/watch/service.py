"""The watcher: keep the catalog in line with folders as they change, for as long as it runs.

    start  → watch the roots, then a full (incremental) scan of each: what changed while
             no watcher ran, or since a kill -9, is caught up here
    events → settle (a file being written is read once it is complete) → scan the
             smallest folder holding the batch (so a move within a root is one move,
             not a delete and an add) → follow-ups for what was new
    timer  → a full rescan now and then: network mounts send no events
    gone   → a root that disappears is polled until it comes back, then rescanned

All indexing goes through `Library.scan`: the watcher decides *when* and *where*, never how.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from illudex.catalog.images import ids_under
from illudex.library import Library
from illudex.paths import is_under
from illudex.scan.engine import ScanReport
from illudex.watch.events import RootWatches
from illudex.watch.followups import FollowUpReport, FollowUpRunner, FollowUps
from illudex.watch.settle import Settler

log = logging.getLogger("illudex.watch")


# watchdog holds the first half of a rename for 0.5 s waiting for the second: a shorter
# quiet time would scan the new name's folder before the old name's deletion is known,
# and a move across folders would turn into an add and a removal (tags lost).
MIN_SETTLE_S = 0.6


@dataclass(frozen=True)
class WatchOptions:
    settle_s: float = 2.0  # quiet time before a changed file is read
    max_wait_s: float = 60.0  # a file that never settles is read anyway after this
    rescan_s: float = 300.0  # full rescan period (0: never)
    tick_s: float = 0.2
    followups: FollowUps = field(default_factory=FollowUps)


@dataclass
class WatchTotals:
    """What the watcher did since it started (logged, and read by tests and the UI)."""

    batches: int = 0
    scan: ScanReport = field(default_factory=ScanReport)
    tagged: int = 0
    embedded: int = 0
    notices: int = 0
    failures: int = 0


class Watcher:
    def __init__(self, lib: Library, roots: list[str], options: WatchOptions | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.lib = lib
        self.on_change = on_change  # the web server drops its caches
        self.roots = [os.path.abspath(r) for r in roots]
        self.options = options or WatchOptions()
        self.totals = WatchTotals()
        self.settler = Settler(self.options.settle_s, self.options.max_wait_s)
        self.watches = RootWatches(self.roots, self.settler.touch, exclude=(str(lib.dir),),
                                   expects_pictures=self._has_pictures)
        self.followups = FollowUpRunner(lib, self.options.followups)
        self.ready = threading.Event()  # set once the start-up scan is done

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set (or KeyboardInterrupt: SIGTERM in the CLI)."""
        present = self.watches.start()  # before the scan: nothing written meanwhile is missed
        try:
            missing = [r for r in self.roots if r not in present]
            for root in missing:
                log.warning("folder not there: %s (watching for it)", root)
            self.followups.start()
            self._process(present)
            self.ready.set()
            log.info("up to date; watching for changes")
            next_rescan = self._next_rescan()
            while not stop.wait(self.options.tick_s):
                self.step()
                if time.monotonic() >= next_rescan:
                    self._process([r for r in self.roots if self.watches.watching(r)])
                    next_rescan = self._next_rescan()
        finally:
            self.watches.stop()
            log.info("stopped: %s", self.summary())

    def step(self) -> None:
        """One turn: roots that came back, then the paths that settled."""
        back = self.watches.refresh()
        if back:
            log.info("folder back: %s", ", ".join(back))
            self._process(back)
        settled = self.settler.ready()
        if settled:
            self._process(self._targets(settled))

    def summary(self) -> str:
        t = self.totals
        return (f"{t.batches} batch(es), {t.scan.added} added, {t.scan.updated} updated, "
                f"{t.scan.moved} moved, {t.scan.removed} removed, {len(t.scan.errors)} "
                f"error(s), {t.tagged} tagged, {t.embedded} embedded, {t.notices} notice(s)")

    # --- inside ----------------------------------------------------------------------

    def _next_rescan(self) -> float:
        period = self.options.rescan_s
        return time.monotonic() + period if period > 0 else float("inf")

    def _targets(self, paths: list[str]) -> list[str]:
        """The smallest existing folder per root that holds every settled path."""
        by_root: dict[str, list[str]] = {}
        for path in paths:
            root = next((r for r in self.roots if is_under(path, r)), None)
            if root is None or not self.watches.available(root):
                continue  # a root gone meanwhile is rescanned whole when it is back
            folder = path if os.path.isdir(path) else os.path.dirname(path)
            by_root.setdefault(root, []).append(folder)
        targets = []
        for root, folders in by_root.items():
            target = os.path.commonpath(folders)
            while not os.path.isdir(target) and target != root:
                target = os.path.dirname(target)
            targets.append(target if is_under(target, root) else root)
        return targets

    def _process(self, folders: list[str]) -> None:
        for folder in folders:
            try:
                self._scan_and_follow(folder)
            except Exception:  # one bad batch must not end an always-on service
                self.totals.failures += 1
                log.exception("batch for %s failed; it is retried at the next rescan", folder)

    def _scan_and_follow(self, folder: str) -> None:
        report = self.lib.scan([folder])
        self.totals.batches += 1
        self.totals.scan.merge(report)
        changed = report.added + report.updated + report.moved + report.removed
        if changed or report.errors:
            log.info("scanned %s: %d added, %d updated, %d moved, %d removed, %d error(s)",
                     folder, report.added, report.updated, report.moved, report.removed,
                     len(report.errors))
        for error in report.errors[:20]:
            log.warning("skipped %s: %s", error["path"], error["error"])
        done = self.followups.run([folder])
        self._count(done)
        if (changed or done.tagged or done.embedded) and self.on_change:
            self.on_change()

    def _count(self, done: FollowUpReport) -> None:
        self.totals.tagged += done.tagged
        self.totals.embedded += done.embedded
        self.totals.notices += done.notices
        if done.tagged or done.embedded:
            log.info("tagged %d, embedded %d", done.tagged, done.embedded)

    def _has_pictures(self, root: str) -> bool:
        return bool(ids_under(self.lib.conn, root))
