"""Paths as the catalog stores them.

File names on Linux are bytes; Python shows undecodable bytes as lone surrogates, which
SQLite's UTF-8 text cannot hold. The catalog keeps a readable form (`\\xNN` for such
bytes) as the key, and the real bytes beside it when they differ.
"""

from __future__ import annotations

import os


def to_catalog(path: str) -> tuple[str, bytes | None]:
    """(display text, raw bytes or None when the text is the exact name)."""
    try:
        path.encode("utf-8")
        return path, None
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        return raw.decode("utf-8", "backslashreplace"), raw


def from_catalog(display: str, raw: bytes | None) -> str:
    """The path to open, from a catalog row's (path, raw_path)."""
    return os.fsdecode(raw) if raw is not None else display


def sidecar_path(image_path: str) -> str:
    """The same-name caption file: `a/b.png` → `a/b.txt`."""
    return os.path.splitext(image_path)[0] + ".txt"


def is_under(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep) or os.sep
    return path == folder or path.startswith(folder if folder == os.sep else folder + os.sep)
