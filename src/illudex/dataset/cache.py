"""The step cache: small JSON records and result files keyed by input digest and step
parameters, under the library folder (`LIB/dataset-cache/`).

Each record is written whole (a part file, then a rename), so a run stopped at any point
leaves only finished records, and the next run starts from them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image

CACHE_DIR = "dataset-cache"
PNG_LEVEL = 1  # zlib level for PNG output: docs/decisions.md "Dataset pictures"


class Cache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._made: set[Path] = set()

    @classmethod
    def in_library(cls, library_dir: str | Path) -> Cache:
        return cls(Path(library_dir) / CACHE_DIR)

    def _record_path(self, key: str) -> Path:
        return self.root / "records" / key[:2] / f"{key}.json"

    def file_path(self, key: str, suffix: str) -> Path:
        return self.root / "files" / key[:2] / f"{key}{suffix}"

    def get(self, key: str) -> Any | None:
        try:
            with open(self._record_path(key), encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def folder_for(self, path: Path) -> Path:
        """Make `path`'s folder once per process (the cache shards into 256 folders)."""
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        return path

    def put(self, key: str, value: Any) -> None:
        path = self.folder_for(self._record_path(key))
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        part.write_text(json.dumps(value), encoding="utf-8")
        os.replace(part, path)

    def save_picture(self, image: Image.Image, path: Path, fmt: str = "PNG",
                     **options: Any) -> None:
        """Write a picture file whole, like a record (PNG at PNG_LEVEL unless told)."""
        if fmt == "PNG":
            options.setdefault("compress_level", PNG_LEVEL)
        path = self.folder_for(path)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        image.save(part, fmt, **options)
        os.replace(part, path)
