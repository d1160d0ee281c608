"""Thumbnails: made once per picture content and size, cached as WebP in the library folder.

A thumbnail is keyed by the picture's content digest (so moved or renamed files and exact
copies share one) and made with the same safe decoder as scanning (pixel limit, EXIF
orientation, alpha on white, first frame). Files are written to a temporary name and
renamed into place, so a reader never sees half a thumbnail.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from illudex.errors import InvalidInput
from illudex.imageio import DecodeError, decode

if TYPE_CHECKING:
    from illudex.library import Library

THUMBS_DIR = "thumbs"
SIZES = (128, 256, 512, 1024)
WEBP_QUALITY = 80


class ThumbnailError(InvalidInput):
    """A thumbnail that cannot be made, with the reason in words."""


def thumbnail_path(library_dir: Path, digest: str, size: int) -> Path:
    """Where the thumbnail of content `digest` at `size` lives (made or not)."""
    return library_dir / THUMBS_DIR / str(size) / digest[:2] / f"{digest}.webp"


def thumbnail(lib: Library, image_id: int, size: int = 256) -> Path:
    """The cached WebP thumbnail of catalogued picture `image_id`, made if missing.

    Raises ThumbnailError when the id is unknown, the size unsupported, the file gone or
    changed since the last scan, or the picture cannot be decoded.
    """
    if size not in SIZES:
        raise ThumbnailError(f"thumbnail size {size} not offered (choose one of {SIZES})")
    row = lib.images([image_id]).get(image_id)
    if row is None:
        raise ThumbnailError(f"no picture with id {image_id} in the catalog")
    target = thumbnail_path(lib.dir, row.digest, size)
    if target.exists():
        return target
    _check_unchanged(row.path, row.size, row.mtime_ns)
    try:
        decoded = decode(row.path, side=size, max_pixels=lib.max_pixels)
    except DecodeError as e:
        raise ThumbnailError(f"{row.path}: {e}") from None
    _write_webp(decoded.image, target)
    return target


def _check_unchanged(path: str, size: int, mtime_ns: int) -> None:
    """A file that changed since the scan would get a thumbnail filed under old content."""
    try:
        st = os.lstat(path)  # a file replaced by a link is not the scanned picture
    except OSError as e:
        raise ThumbnailError(f"{path}: cannot read the file ({e.strerror or e})") from None
    if st.st_size != size or st.st_mtime_ns != mtime_ns:
        raise ThumbnailError(f"{path}: changed since the last scan (scan its folder again)")


def _write_webp(image: Image.Image, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unique per thread and process: two requests may make the same thumbnail at once.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        image.save(tmp, "WEBP", quality=WEBP_QUALITY, method=4)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
