"""Writing the export's own text files whole, and only when their content changes (a
re-run with nothing changed leaves every file, and its mtime, as it was)."""

from __future__ import annotations

import os
from pathlib import Path


def write_if_changed(target: Path, text: str) -> bool:
    data = text.encode("utf-8")
    try:
        if target.read_bytes() == data:
            return False
    except OSError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    part.write_bytes(data)
    os.replace(part, target)
    return True
