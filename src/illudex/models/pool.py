"""Loaded models that come and go: load on first use, release after an idle time, keep at
most `max_models`, least recently used first out.

A long-running process (`illudex serve`, `illudex watch`) would otherwise hold every model
it ever used (hundreds of MB each, CPU or GPU) for its whole life. Releasing a model drops
the pool's reference and the ONNX sessions cached for it (`sessions.forget`); its memory
goes back once the last caller still using the object finishes, so a release never breaks
a run in progress. One shared pool per process (`shared()`); with the defaults (idle 0,
no maximum) it keeps everything, as one-shot CLI commands want.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from illudex.analysers.clip import ClipModel
    from illudex.analysers.wd_tagger import WDTagger

Loader = Callable[[], Any]
Key = tuple[str, str, str, str]  # kind, name, device asked for, where its files are now


@dataclass
class _Entry:
    kind: str
    name: str
    model: Any
    device: str  # where it runs: 'cpu' | 'cuda' | 'tensorrt'
    memory_bytes: int  # resident memory the load added (process-wide measure)
    last_used: float


@dataclass(frozen=True)
class LoadedModel:
    name: str
    kind: str
    device: str
    memory_bytes: int
    idle_s: float

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "device": self.device,
                "memory_bytes": self.memory_bytes, "idle_s": round(self.idle_s, 1)}


class ModelPool:
    def __init__(self, idle_s: float = 0.0, max_models: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s  # 0: keep
        self.max_models = max_models  # 0: no limit
        self._clock = clock
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.RLock()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    def configure(self, *, idle_s: float, max_models: int) -> None:
        if idle_s < 0 or max_models < 0:
            raise ValueError("idle time and model count must be 0 or more")
        with self._lock:
            self.idle_s, self.max_models = idle_s, max_models
        self.release_idle()

    # --- use -------------------------------------------------------------------------

    def get(self, kind: str, name: str, device: str, load: Loader) -> Any:
        """The loaded model for (kind, name, device), loading it with `load` if needed."""
        key = (kind, name, device, _location(kind, name))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._load(kind, name, load)
                # A first use may have downloaded the files: key them where they are now.
                key = (kind, name, device, _location(kind, name))
                self._entries[key] = entry
            entry.last_used = self._clock()
            self._evict_over_limit(keep=key)
            return entry.model

    def tagger(self, name: str, device: str = "auto") -> WDTagger:
        from illudex.analysers.taggers import load_tagger

        return self.get("tagger", name, device, lambda: load_tagger(name, device=device))

    def clip(self, name: str, device: str = "auto") -> ClipModel:
        from illudex.analysers.clip import ClipModel

        return self.get("clip", name, device, lambda: ClipModel.load(name, device=device))

    def loaded(self) -> list[LoadedModel]:
        now = self._clock()
        with self._lock:
            return [LoadedModel(e.name, e.kind, e.device, e.memory_bytes, now - e.last_used)
                    for e in sorted(self._entries.values(), key=lambda e: -e.last_used)]

    # --- release ---------------------------------------------------------------------

    def release_idle(self) -> list[str]:
        """Release the models unused for `idle_s` seconds; returns their names."""
        if self.idle_s <= 0:
            return []
        now = self._clock()
        with self._lock:
            old = [k for k, e in self._entries.items() if now - e.last_used >= self.idle_s]
            return [self._release(k) for k in old]

    def release_all(self) -> list[str]:
        with self._lock:
            return [self._release(k) for k in list(self._entries)]

    def start_reaper(self, every_s: float | None = None) -> None:
        """A daemon thread that releases idle models (serve and watch start one)."""
        if self._reaper is not None or self.idle_s <= 0:
            return
        interval = every_s or max(0.05, min(self.idle_s / 4, 5.0))
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                self.release_idle()

        self._reaper = threading.Thread(target=run, name="illudex-model-reaper", daemon=True)
        self._reaper.start()

    def stop_reaper(self) -> None:
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout=5)
        self._reaper = None

    # --- inside ----------------------------------------------------------------------

    def _load(self, kind: str, name: str, load: Loader) -> _Entry:
        before = resident_bytes()
        model = load()
        grown = max(0, resident_bytes() - before)
        return _Entry(kind, name, model, _device_of(model), grown, self._clock())

    def _evict_over_limit(self, keep: Key) -> None:
        if self.max_models <= 0:
            return
        while len(self._entries) > self.max_models:
            oldest = min((k for k in self._entries if k != keep),
                         key=lambda k: self._entries[k].last_used)
            self._release(oldest)

    def _release(self, key: Key) -> str:
        entry = self._entries.pop(key)
        _forget_caches(entry.model)
        del entry
        gc.collect()
        _trim_heap()
        return key[1]


def _location(kind: str, name: str) -> str:
    """Where the model's files are, and when they changed: new files load anew. Empty
    when not on this machine yet (the loader downloads them, or says why it cannot)."""
    from illudex.models import hub, registry
    from illudex.models.errors import ModelError

    try:
        # A quality scorer is a classifier's files (kept apart in the pool by its kind).
        files_kind = "classifier" if kind == "quality" else kind
        found = hub.locate(registry.resolve(name, kind=files_kind))  # type: ignore[arg-type]
        return f"{found}@{found.stat().st_mtime_ns}" if found is not None else ""
    except (OSError, ModelError):
        return ""


def _forget_caches(model: Any) -> None:
    """Drop the module-level caches that would keep the model's sessions alive."""
    from illudex.analysers import clip
    from illudex.models import sessions

    sessions.forget([s for s in vars(model).values() if sessions.is_session(s)])
    clip.forget(model)


def _device_of(model: Any) -> str:
    from illudex.models import sessions

    found = [s for s in vars(model).values() if sessions.is_session(s)]
    if not found:
        return "cpu"
    first = found[0].get_providers()[0]
    return {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "tensorrt"}.get(
        first, "cpu")


def resident_bytes() -> int:
    """This process's resident memory (Linux: /proc; elsewhere 0, as nothing cheap says)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _trim_heap() -> None:
    # glibc keeps freed arenas mapped; trimming hands them back so the release shows in RSS.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_shared = ModelPool()


def shared() -> ModelPool:
    """The process's pool (configured by serve and watch; keep-all for other commands)."""
    return _shared
