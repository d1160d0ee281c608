"""Changed paths, held back until they stop changing (a file still being written).

A copy or a download shows up as a stream of events over seconds; reading the file on the
first one would catalog a truncated picture. A path is ready once no event came for
`settle` seconds *and* its size and mtime did not move between two looks (writers on a
network mount send no events at all). A path that never settles (a log-like file) is
let through after `max_wait` seconds, so one busy file cannot hold the others back.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Stamp = tuple[int, int] | None  # (size, mtime_ns); None: gone


@dataclass
class _Pending:
    first: float
    last: float
    stamp: Stamp


class Settler:
    def __init__(self, settle: float = 2.0, max_wait: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settle = settle
        self.max_wait = max_wait
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()  # touched from the observer's thread

    def touch(self, path: str) -> None:
        """An event for `path` (created, modified, moved, deleted)."""
        now = self._clock()
        with self._lock:
            seen = self._pending.get(path)
            if seen is None:
                self._pending[path] = _Pending(now, now, _stamp(path))
            else:
                seen.last = now

    def ready(self) -> list[str]:
        """The paths that have settled, once all have (a folder is scanned whole, so one
        file still being written holds its neighbours back); they leave the pending set."""
        now = self._clock()
        with self._lock:
            overdue = [path for path, p in self._pending.items() if now - p.first >= self.max_wait]
            settled = [path for path, p in self._pending.items() if self._settled(path, p, now)]
            if len(settled) < len(self._pending) and not overdue:
                return []
            out = sorted(set(settled) | set(overdue))
            for path in out:
                del self._pending[path]
        return out

    def _settled(self, path: str, p: _Pending, now: float) -> bool:
        if now - p.last < self.settle:
            return False
        stamp = _stamp(path)
        if stamp != p.stamp:  # still growing without events: look again later
            p.stamp, p.last = stamp, now
            return False
        return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)
