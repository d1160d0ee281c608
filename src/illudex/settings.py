"""What a library remembers between runs outside the catalog: `settings.json` in the
library folder (the model pictures were tagged and embedded with, where to load it again);
and how hard this session may work (`RunLimits`, shared by the library's services).

A small JSON file rather than a table: it holds a handful of names, is read before any
model loads, and a person can read or fix it by hand.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from illudex.picturefiles import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from illudex.engines import Engine

FILE_NAME = "settings.json"
ENV_MAX_PIXELS = "ILLUDEX_MAX_PIXELS"


@dataclass
class RunLimits:
    """Set by the CLI's options (`lib.workers = 4`) after the library opened: services
    read them when they run, so one shared object rather than copies."""

    workers: int | None = None  # decode processes; None: the runner's own choice
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger pictures are refused, not decoded
    engine: Engine | None = None  # where analysers run (illudex.engines); None: here

    @classmethod
    def from_env(cls) -> RunLimits:
        return cls(max_pixels=int(os.environ.get(ENV_MAX_PIXELS, DEFAULT_MAX_PIXELS)))


class Settings:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME

    def get(self, key: str) -> str | None:
        return self._load().get(key)

    def set(self, key: str, value: str) -> None:
        """Remember `value`; the file is replaced whole, never left half written."""
        settings = self._load()
        settings[key] = value
        tmp = self.path.with_name(FILE_NAME + ".part")
        tmp.write_text(json.dumps(settings, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def _load(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
