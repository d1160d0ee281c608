"""Filesystem events through watchdog, and watched folders that come and go.

A folder on a NAS that sleeps, or a USB disk, disappears and comes back: its inotify watch
dies with it. While gone, a root is polled instead of watched (and never scanned: an
empty mount point must not read as "every picture was deleted"); when it is back, it is
watched again and rescanned whole, for what changed meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from illudex.paths import is_under
from illudex.picturefiles import is_image_name

log = logging.getLogger("illudex.watch")
IGNORED_EVENTS = ("opened", "closed_no_write")


class _Handler(FileSystemEventHandler):
    def __init__(self, on_path: Callable[[str], None], exclude: tuple[str, ...]) -> None:
        self.on_path = on_path
        self.exclude = exclude

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in IGNORED_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # only says its entries changed: their own events tell which
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw) if raw else ""
            if path and self._wanted(path, event.is_directory):
                self.on_path(path)

    def _wanted(self, path: str, is_dir: bool) -> bool:
        if any(is_under(path, x) for x in self.exclude):
            return False
        name = os.path.basename(path)
        # Pictures, their captions, and folders (a folder moved in brings its pictures).
        return is_dir or is_image_name(name) or name.lower().endswith(".txt")


class RootWatches:
    """The watched roots: scheduled on the observer while present, polled while gone."""

    def __init__(self, roots: list[str], on_path: Callable[[str], None],
                 exclude: tuple[str, ...] = (),
                 expects_pictures: Callable[[str], bool] = lambda root: False) -> None:
        self.roots = roots
        self.observer: BaseObserver = Observer()
        self._handler = _Handler(on_path, exclude)
        self._watches: dict[str, ObservedWatch] = {}
        self._expects = expects_pictures

    def start(self) -> list[str]:
        """Start observing; returns the roots present now."""
        self.observer.start()
        return self.refresh()

    def refresh(self) -> list[str]:
        """Watch roots that came back, drop those gone; returns the roots that came back."""
        back: list[str] = []
        for root in self.roots:
            present = self.available(root)
            if present and root not in self._watches:
                if self._schedule(root):
                    back.append(root)
            elif not present and root in self._watches:
                log.warning("folder gone: %s (watching for its return)", root)
                self._unschedule(root)
        return back

    def available(self, root: str) -> bool:
        """A folder that is there; an empty one only if the catalog holds nothing under it
        (an unmounted share leaves an empty mount point behind)."""
        if not os.path.isdir(root):
            return False
        try:
            with os.scandir(root) as entries:
                empty = next(entries, None) is None
        except OSError:
            return False
        return not empty or not self._expects(root)

    def watching(self, root: str) -> bool:
        return root in self._watches

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=10)

    def _schedule(self, root: str) -> bool:
        try:
            self._watches[root] = self.observer.schedule(self._handler, root, recursive=True)
        except OSError as e:  # gone again, or out of inotify watches
            log.warning("cannot watch %s: %s", root, e)
            return False
        log.info("watching %s", root)
        return True

    def _unschedule(self, root: str) -> None:
        watch = self._watches.pop(root)
        with contextlib.suppress(KeyError, OSError):  # the emitter died with its folder
            self.observer.unschedule(watch)
