"""Always on: watch folders, index what changes within seconds, follow up on new pictures.

Names load on first use: the web app reads notices without importing watchdog.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"FollowUps": "followups", "NoticeLog": "notices", "Watcher": "service",
          "WatchOptions": "service", "WatchTotals": "service"}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"illudex.watch.{_WHERE[name]}"), name)
