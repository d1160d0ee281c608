"""Verification: edited copies compare as the same, recolours and other drawings do not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from illudex.dupes import features, verify
from tests.dupes.pictures import drawing


def reencode(im: Image.Image, fmt: str, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, fmt, quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def hue_rotated(im: Image.Image, shift: int = 110) -> Image.Image:
    h, s, v = im.convert("HSV").split()
    return Image.merge("HSV", (h.point(lambda x: (x + shift) % 256), s, v)).convert("RGB")


def captioned(im: Image.Image) -> Image.Image:
    im = im.copy()
    ImageDraw.Draw(im).text((110, 120), "sample 4711", fill=(20, 20, 20))
    return im


def cropped(im: Image.Image, f: float = 0.06) -> Image.Image:
    w, h = im.size
    return im.crop((int(w * f), int(h * f), w - int(w * f * 0.5), h - int(h * f)))


COPIES = {
    "resized": lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS),
    "jpeg": lambda im: reencode(im, "JPEG", 45),
    "webp": lambda im: reencode(im, "WEBP", 50),
    "border": lambda im: ImageOps.expand(im, 18, fill="black"),
    "caption": captioned,
    "brighter": lambda im: ImageEnhance.Color(ImageEnhance.Brightness(im).enhance(1.13))
    .enhance(0.88),
    "blurred": lambda im: im.filter(ImageFilter.GaussianBlur(1.2)),
}


def prepared(*images: Image.Image) -> verify.Prepared:
    return verify.prepare([features.decode(features.extract(im)) for im in images])


def as_stored(prep: verify.Prepared, a: int = 0, b: int = 1) -> verify.Scores:
    return verify.compare(prep, np.array([a]), np.array([b]))


@pytest.mark.parametrize("edit", sorted(COPIES))
def test_edited_copies_are_near_identical_as_stored(edit: str) -> None:
    original = drawing()
    sc = as_stored(prepared(original, COPIES[edit](original)))
    assert sc.similarity[0] >= 0.86, (edit, sc)


def test_identical_pictures_have_similarity_one() -> None:
    sc = as_stored(prepared(drawing(), drawing()))
    assert sc.similarity[0] == pytest.approx(1.0)
    assert sc.structure[0] == 0 and sc.colour[0] == 0


def test_a_recolour_keeps_its_structure_but_not_its_colour() -> None:
    original = drawing()
    sc = as_stored(prepared(original, hue_rotated(original)))
    assert sc.structure[0] < 0.1
    assert sc.colour[0] > 0.3
    assert sc.similarity[0] < 0.7


def test_an_unrelated_drawing_differs_in_structure() -> None:
    sc = as_stored(prepared(drawing(1), drawing(2)))
    assert sc.structure[0] > 0.3
    assert sc.similarity[0] < 0.6


def test_a_changed_region_is_caught_even_when_small() -> None:
    original = drawing()
    changed = original.copy()
    ImageDraw.Draw(changed).ellipse((150, 60, 200, 110), fill=(10, 10, 10))  # a new blob
    sc = as_stored(prepared(original, changed))
    assert sc.local[0] > 0.5  # dense where it changed ...
    assert sc.similarity[0] < 0.85  # ... so it is not called a duplicate
    caption = as_stored(prepared(original, captioned(original)))
    assert caption.local[0] < sc.local[0]


def test_a_whole_recolour_changes_colour_everywhere_a_part_recolour_in_one_region() -> None:
    original = drawing()
    w, h = original.size
    part = original.copy()
    part.paste(hue_rotated(original).crop((0, 0, w // 3, h // 3)), (0, 0))  # one corner
    whole = as_stored(prepared(original, hue_rotated(original)))
    local = as_stored(prepared(original, part))
    assert whole.colour_rest[0] > 0.5 * whole.colour[0]
    assert local.colour[0] > 0.05  # the corner did change colour ...
    assert local.colour_rest[0] < 0.2 * local.colour[0]  # ... and only there


def test_a_hue_turn_keeps_the_colourfulness_greying_does_not() -> None:
    original = drawing()
    turned = as_stored(prepared(original, hue_rotated(original)))
    greyed = as_stored(prepared(original, ImageEnhance.Color(original).enhance(0.2)))
    assert turned.colour[0] > 0.3 and greyed.colour[0] > 0.3  # both changed colour ...
    assert turned.chroma_change[0] < 0.15  # ... one kept how colourful it was
    assert greyed.chroma_change[0] > 0.5


@pytest.mark.parametrize(("shape", "window"), [((48, 48), 19), ((47, 48), 5), ((24, 24), 10),
                                               ((16, 16), 6), ((9, 12), 9)])
def test_densest_window_is_the_largest_window_mean(shape: tuple[int, int], window: int) -> None:
    rng = np.random.default_rng(window)
    maps = (rng.random((5, *shape)) > 0.6).astype(np.float32) * rng.random((5, *shape))
    maps[2, :window, -window:] = 1.0  # a fully changed corner: its window's mean is 1
    h, w = shape
    brute = np.array([max(m[y:y + window, x:x + window].mean()
                          for y in range(h - window + 1) for x in range(w - window + 1))
                      for m in maps])
    found = verify._densest(maps, window)
    assert found[2] == pytest.approx(1.0)
    np.testing.assert_allclose(found, brute, rtol=1e-5)
