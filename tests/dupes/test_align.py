"""Lining up two copies for a person to compare: the part of each frame that shows the
same content, from the stored features (a real scan of drawn pictures)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from illudex.library import Library
from illudex.sample import drawing

TOLERANCE = 0.015  # of the side: the features are small thumbnails; the web UI polishes


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Library, dict[str, int]]:
    root = tmp_path_factory.mktemp("align")
    art = root / "art"
    art.mkdir()
    im = drawing(random.Random(3), (800, 720))
    im.save(art / "original.png")
    w, h = im.size
    im.crop((int(w * 0.12), int(h * 0.05), w, int(h * 0.93))).save(art / "cropped.png")
    ImageOps.expand(im, border=40, fill=(255, 255, 255)).save(art / "bordered.png")
    im.resize((400, 360), Image.Resampling.LANCZOS).save(art / "small.jpg", quality=90)
    lib = Library.open(root / "library")
    lib.workers = 1
    lib.scan([art])
    ids = {Path(r.path).name: r.id for r in lib.images(lib.image_ids([art])).values()}
    return lib, ids


def close(box: tuple[float, ...], expected: tuple[float, ...]) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(box, expected, strict=True))


def test_a_cropped_copy_lines_up_with_the_part_it_kept(library: tuple[Library, dict]) -> None:
    lib, ids = library
    found = lib.dupes.align(ids["original.png"], ids["cropped.png"])
    assert found is not None
    assert close(found.a, (0.12, 0.05, 1.0, 0.93)), found
    assert close(found.b, (0.0, 0.0, 1.0, 1.0)), found


def test_a_border_is_left_out(library: tuple[Library, dict]) -> None:
    lib, ids = library
    found = lib.dupes.align(ids["bordered.png"], ids["original.png"])
    assert found is not None
    bx, by = 40 / 880, 40 / 800
    assert close(found.a, (bx, by, 1 - bx, 1 - by)), found
    assert close(found.b, (0.0, 0.0, 1.0, 1.0)), found


def test_a_resized_copy_is_the_whole_frame(library: tuple[Library, dict]) -> None:
    lib, ids = library
    found = lib.dupes.align(ids["original.png"], ids["small.jpg"])
    assert found is not None and found.method == "frames"
    assert found.a == found.b == (0.0, 0.0, 1.0, 1.0)
    assert lib.dupes.align(ids["original.png"], 10**9) is None
