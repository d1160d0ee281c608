"""Where illudex keeps files it derives from models (e.g. a tagger with its embedding exposed)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "ILLUDEX_CACHE_DIR"


def cache_dir() -> Path:
    """`$ILLUDEX_CACHE_DIR`, else the platform's user cache folder for illudex; created."""
    value = os.environ.get(CACHE_ENV)
    if value:
        path = Path(value).expanduser()
    else:
        from platformdirs import user_cache_dir

        path = Path(user_cache_dir("illudex"))
    path.mkdir(parents=True, exist_ok=True)
    return path
