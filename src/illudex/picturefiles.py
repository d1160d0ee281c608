"""Which files are pictures, and the limit on reading one: facts the walk, the planner
and the library need without loading Pillow (`illudex.imageio` does the decoding)."""

from __future__ import annotations

import os

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff",
     ".avif", ".heic", ".heif"}
)
DEFAULT_MAX_PIXELS = 178_956_970  # Pillow's own bomb threshold (2x its warning level)


def is_image_name(name: str) -> bool:
    """Whether a file name is one illudex reads as a picture (by its suffix)."""
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
