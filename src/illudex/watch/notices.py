"""What the watcher tells people, and how far its follow-ups got — files in the library's
`watch/` folder, written so that a killed watcher neither loses nor repeats anything.

- `notices.jsonl`: one JSON object per line (a new duplicate, …), each with a `key`; a key
  already there is not written again (a resumed run redoes its last batch).
- `state.json`: `checked_until`, the scan time up to which new pictures had their
  follow-ups; replaced atomically after each batch.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

WATCH_DIR = "watch"


class NoticeLog:
    def __init__(self, library_dir: Path) -> None:
        self.path = library_dir / WATCH_DIR / "notices.jsonl"
        self._lock = threading.Lock()
        written = self._read_all()
        self._keys = {n.get("key") for n in written}
        self._announced = {i for n in written for i in n.get("new_ids", ())}

    def announced(self, image_id: int) -> bool:
        """Whether a notice already named this picture as new: a run killed between its
        notice and its `checked_until` redoes the batch, and must not name it again."""
        return image_id in self._announced

    def add(self, key: str, notice: dict[str, Any]) -> bool:
        """Append a notice; False when one with this key was written before."""
        with self._lock:
            if key in self._keys:
                return False
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps({**notice, "key": key, "at": time.time()}, ensure_ascii=False)
            with open(self.path, "a+", encoding="utf-8") as f:
                f.write(("\n" if _cut_short(f) else "") + line + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._keys.add(key)
            self._announced.update(notice.get("new_ids", ()))
            return True

    def read(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Notices numbered from 1 in the order written; those after number `after`."""
        return [{"id": n, **item} for n, item in enumerate(self._read_all(), start=1)
                if n > after][:limit]

    def count(self) -> int:
        return len(self._read_all())

    def _read_all(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:  # a line cut short by a kill is skipped, not fatal
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out


def _cut_short(f: Any) -> bool:
    """Whether the file ends inside a line (a write killed half-way)."""
    size = f.seek(0, os.SEEK_END)
    if size == 0:
        return False
    f.seek(size - 1)
    last = f.read(1)
    f.seek(0, os.SEEK_END)
    return last != "\n"


class WatchState:
    def __init__(self, library_dir: Path) -> None:
        self.path = library_dir / WATCH_DIR / "state.json"

    def checked_until(self) -> float | None:
        """None before the first run (everything catalogued then counts as old)."""
        try:
            return float(json.loads(self.path.read_text())["checked_until"])
        except (FileNotFoundError, KeyError, ValueError, TypeError):
            return None

    def set_checked_until(self, value: float) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"checked_until": value}))
        os.replace(tmp, self.path)  # whole or not at all, even under kill -9
