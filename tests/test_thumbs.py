"""Thumbnails: made once per content, safe decoding, clear errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from illudex.library import Library
from illudex.thumbs import ThumbnailError, thumbnail, thumbnail_path


def scanned(library: Library, folder: Path) -> dict[str, int]:
    library.scan([folder])
    return {Path(r.path).name: r.id for r in library.images(library.image_ids([folder])).values()}


def test_thumbnail_is_webp_upright_and_made_once(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    make_picture(art / "wide.png", size=(600, 300), seed=1)
    # A portrait photo stored sideways with an EXIF rotation: the thumbnail stands up.
    sideways = Image.new("RGB", (400, 200), (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    art.mkdir(exist_ok=True)
    sideways.save(art / "rotated.jpg", exif=exif.tobytes())
    ids = scanned(library, art)

    path = thumbnail(library, ids["wide.png"], 256)
    assert path.parent.parent == library.dir / "thumbs" / "256"
    with Image.open(path) as im:
        assert im.format == "WEBP" and im.size == (256, 128)
    made_at = path.stat().st_mtime_ns
    assert thumbnail(library, ids["wide.png"], 256) == path
    assert path.stat().st_mtime_ns == made_at  # cached, not made again
    with Image.open(thumbnail(library, ids["rotated.jpg"], 128)) as im:
        assert im.size == (64, 128)
    assert not list(path.parent.glob("*.part"))


def test_copies_share_one_thumbnail(library: Library, tmp_path: Path, make_picture) -> None:
    art = tmp_path / "art"
    make_picture(art / "a.png", seed=3)
    shutil.copy(art / "a.png", art / "b.png")
    ids = scanned(library, art)
    assert thumbnail(library, ids["a.png"]) == thumbnail(library, ids["b.png"])
    row = library.images([ids["a.png"]])[ids["a.png"]]
    assert thumbnail(library, ids["a.png"]) == thumbnail_path(library.dir, row.digest, 256)


def test_bad_requests_and_bad_files_say_why(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    make_picture(art / "ok.png", seed=4)
    make_picture(art / "changed.png", seed=5)
    ids = scanned(library, art)
    with pytest.raises(ThumbnailError, match="no picture with id 999"):
        thumbnail(library, 999)
    with pytest.raises(ThumbnailError, match="not offered"):
        thumbnail(library, ids["ok.png"], 300)
    make_picture(art / "changed.png", size=(50, 50), seed=6)
    os.utime(art / "changed.png", ns=(1, 1))
    with pytest.raises(ThumbnailError, match="changed since the last scan"):
        thumbnail(library, ids["changed.png"])
    (art / "ok.png").unlink()
    with pytest.raises(ThumbnailError, match="cannot read the file"):
        thumbnail(library, ids["ok.png"])
    # The library's decode limits hold here as in scanning: over the pixel limit, refused.
    big = make_picture(tmp_path / "big" / "big.png", size=(64, 64), seed=7)
    big_id = scanned(library, big.parent)["big.png"]
    library.max_pixels = 1000
    with pytest.raises(ThumbnailError, match="pixels"):
        thumbnail(library, big_id)
    assert not list((library.dir / "thumbs").rglob("*.webp"))
