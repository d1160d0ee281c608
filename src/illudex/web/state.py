"""What the server keeps between requests: open libraries, the duplicate report under
review, and where thumbnails lie.

SQLite connections are not to be shared by two threads at once, and request handlers run
in a thread pool: each request borrows a `Library` of its own from `LibraryPool` and gives
it back when done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from illudex.dupes.finder import DupeGroup, DupesReport
from illudex.library import Library


class LibraryPool:
    """Libraries (one SQLite connection each) lent to one request at a time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._idle: queue.LifoQueue[Library] = queue.LifoQueue()
        self._all: list[Library] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def use(self) -> Iterator[Library]:
        try:
            lib = self._idle.get_nowait()
        except queue.Empty:
            lib = Library.open(self.directory)
            with self._lock:
                self._all.append(lib)
        try:
            yield lib
        finally:
            self._idle.put(lib)

    def close(self) -> None:
        with self._lock:
            for lib in self._all:
                with contextlib.suppress(Exception):
                    lib.close()
            self._all.clear()


@dataclass
class DupesSession:
    """The report a person is reviewing, and which of its groups they have acted on.

    Actions are checked against it (only files shown together as one group can be resolved
    together), and "apply all suggestions" covers only groups nobody has touched yet.
    """

    report: DupesReport
    made_at: float = field(default_factory=time.time)
    actions: dict[int, set[int]] = field(default_factory=dict)  # action id -> group indexes
    marked: dict[tuple[int, int], int] = field(default_factory=dict)  # id pair -> group index

    def group_holding(self, ids: list[int]) -> int | None:
        wanted = set(ids)
        for n, group in enumerate(self.report.groups):
            if wanted <= {f.id for f in group.files}:
                return n
        return None

    def groups_of(self, image_id: int) -> list[int]:
        return [n for n, g in enumerate(self.report.groups)
                if any(f.id == image_id for f in g.files)]

    def touched(self) -> set[int]:
        return set().union(*self.actions.values()) | set(self.marked.values())

    def untouched_groups(
        self, still_there: Callable[[DupeGroup], bool]
    ) -> list[tuple[int, DupeGroup]]:
        touched = self.touched()
        return [(n, g) for n, g in enumerate(self.report.groups)
                if n not in touched and still_there(g)]


class DupesCache:
    """One `DupesSession` per server, made on first use and on request."""

    def __init__(self) -> None:
        self._session: DupesSession | None = None
        self._lock = threading.Lock()

    def get(self, make: Callable[[], DupesReport], refresh: bool = False) -> DupesSession:
        with self._lock:
            if self._session is None or refresh:
                self._session = DupesSession(make())
            return self._session

    def current(self) -> DupesSession | None:
        return self._session

    def invalidate(self) -> None:
        with self._lock:
            self._session = None


class PathCache:
    """A bounded memory of (image id, size) -> thumbnail file, oldest forgotten first."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._paths: OrderedDict[tuple[int, int], Path] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int]) -> Path | None:
        with self._lock:
            return self._paths.get(key)

    def put(self, key: tuple[int, int], path: Path) -> None:
        with self._lock:
            self._paths[key] = path
            if len(self._paths) > self.capacity:
                self._paths.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._paths.clear()


def plan_id(moves: list[dict[str, object]]) -> str:
    """A short fingerprint of a plan: what was shown is what gets done."""
    text = json.dumps(moves, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
