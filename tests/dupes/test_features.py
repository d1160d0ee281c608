"""The dupes feature: trimming, the stored layout, and round trips."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from illudex.dupes import features


def drawing(seed: int = 1, size: tuple[int, int] = (300, 240)) -> Image.Image:
    """Coloured shapes with black outlines on a white margin: clipart-like."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    w, h = size
    for _ in range(6):
        x0, y0 = rnd.randint(w // 8, w // 2), rnd.randint(h // 8, h // 2)
        x1, y1 = x0 + rnd.randint(w // 6, w // 3), y0 + rnd.randint(h // 6, h // 3)
        fill = tuple(rnd.randint(0, 255) for _ in range(3))
        shape = d.ellipse if rnd.random() < 0.5 else d.rectangle
        shape((x0, y0, x1, y1), fill=fill, outline="black", width=3)
    return im


def test_extract_round_trips_with_the_documented_size() -> None:
    data = features.extract(drawing())
    assert len(data) == features.FEATURE_SIZE
    f = features.decode(data)
    assert f.light.shape == (features.LIGHT, features.LIGHT)
    assert f.chroma.shape == (features.CHROMA, features.CHROMA, 2)
    assert f.frame.shape == (features.FRAME, features.FRAME)
    assert f.background == (255, 255, 255)
    x0, y0, x1, y1 = f.box
    assert 0 < x0 < x1 < 1 and 0 < y0 < y1 < 1  # the white margin was trimmed


def test_extract_is_deterministic() -> None:
    assert features.extract(drawing(3)) == features.extract(drawing(3))


@pytest.mark.parametrize("fill", ["black", "white"])
def test_a_border_is_trimmed_back_to_the_same_content(fill: str) -> None:
    plain = features.decode(features.extract(drawing()))
    framed = features.decode(features.extract(ImageOps.expand(drawing(), 20, fill=fill)))
    diff = np.abs(plain.light.astype(int) - framed.light.astype(int))
    assert np.median(diff) <= 2
    assert np.mean(diff) < 6


def test_a_coloured_field_is_content_not_margin() -> None:
    flag = Image.new("RGB", (300, 200), (200, 20, 30))
    ImageDraw.Draw(flag).rectangle((100, 60, 200, 140), fill=(20, 120, 40))
    f = features.decode(features.extract(flag))
    assert f.box == (0.0, 0.0, 1.0, 1.0)
    assert f.background is None


def test_a_blank_picture_has_its_colour_as_background() -> None:
    f = features.decode(features.extract(Image.new("RGB", (200, 200), "white")))
    assert f.background == (255, 255, 255)
    assert int(f.light.min()) == 255


def test_tiny_and_non_rgb_pictures_are_fine() -> None:
    tiny = drawing(size=(300, 240)).resize((24, 18))
    assert len(features.extract(tiny)) == features.FEATURE_SIZE
    grey = drawing().convert("L")
    assert len(features.extract(grey)) == features.FEATURE_SIZE


def test_little_content_in_a_big_frame_keeps_its_detail() -> None:
    big = Image.new("RGB", (512, 512), "white")
    big.paste(drawing(size=(60, 50)), (200, 230))
    f = features.decode(features.extract(big))
    # The 60 px drawing fills the thumbnail: many distinct lightness levels survive.
    assert len(np.unique(f.light)) > 8
    assert f.box[2] - f.box[0] < 0.2


def test_decode_rejects_foreign_bytes_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="re-run the scan"):
        features.decode(b"not a feature")
    data = features.extract(drawing())
    with pytest.raises(ValueError, match="wrong size"):
        features.decode(data[:-5])


def test_the_box_reduce_is_shared_with_the_quality_record_of_the_same_picture() -> None:
    """The scan runs the features, then the quality record, on one decode: the reduce
    is made once, and the record is the same whether or not the features ran first."""
    import io

    from illudex.dupes import quality
    from illudex.imageio import decode_file

    buf = io.BytesIO()
    drawing(5, (900, 700)).save(buf, "PNG")

    def decoded():  # type: ignore[no-untyped-def]
        return decode_file(io.BytesIO(buf.getvalue()), "a.png", side=512, coarse=True,
                           keep_full=True)

    alone = quality.extract(decoded())
    d = decoded()
    factor = max(d.image.size) // features.TRIM_SIDE
    features.extract(d.image)
    small = features.box_reduced(d.image, factor)
    assert features.box_reduced(d.image, factor) is small  # remembered, not reduced again
    assert np.array_equal(np.asarray(small), np.asarray(d.image.reduce(factor)))
    assert quality.extract(d) == alone
    other = decoded()  # another picture (equal pixels): its own reduce
    assert features.box_reduced(other.image, factor) is not small


def _content_px(image: Image.Image) -> tuple[float, float, float, float]:
    """The trimmed content's box in the picture's pixels."""
    x0, y0, x1, y1 = features.decode(features.extract(image)).box
    w, h = image.size
    return x0 * w, y0 * h, x1 * w, y1 * h


def _sketch(size: tuple[int, int]) -> Image.Image:
    """Thin black lines on white paper, the drawing well inside its margin."""
    w, h = size
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    d.line([(w * 0.4, h * 0.9), (w * 0.35, h * 0.4), (w * 0.55, h * 0.45), (w * 0.5, h * 0.1),
            (w * 0.65, h * 0.3)], fill="black", width=3)
    d.ellipse((w * 0.42, h * 0.55, w * 0.6, h * 0.75), outline="black", width=2)
    return im


def test_a_thin_black_border_at_an_odd_size_is_trimmed_back_to_the_drawing() -> None:
    # 6 px of border on a 545 px side: reduced 4x, the far side keeps a blend line that
    # once stopped every side from peeling, so the border's box was the whole frame.
    sketch = _sketch((533, 533))
    framed = ImageOps.expand(sketch, 6, fill="black")
    plain, bordered = _content_px(sketch), _content_px(framed)
    shifted = (bordered[0] - 6, bordered[1] - 6, bordered[2] - 6, bordered[3] - 6)
    assert np.abs(np.subtract(plain, shifted)).max() <= 0.02 * 533


@pytest.mark.parametrize("border", [8, 14, 24])
def test_a_black_border_round_a_sketch_with_edge_lines_leaves_the_same_content(
        border: int) -> None:
    # Lines along two edges of a sketch (a flag, a panel) once made the bordered copy
    # peel on, line after margin, down to the drawing in the middle.
    w, h = 667, 333
    sketch = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(sketch)
    d.line([(w - 20, 0), (w - 20, h - 20)], fill="black", width=2)
    d.line([(0, h - 20), (w - 20, h - 20)], fill="black", width=2)
    d.ellipse((280, 80, 380, 260), outline="black", width=2)
    framed = ImageOps.expand(sketch, border, fill="black")
    plain = _content_px(sketch)
    bordered = np.subtract(_content_px(framed), border)
    assert np.abs(np.subtract(plain, bordered)).max() <= 0.01 * w


def test_a_dark_blank_is_content_not_a_frame() -> None:
    for image in (Image.new("RGB", (100, 100), "black"), Image.new("L", (300, 200), 0)):
        assert features.decode(features.extract(image)).box == (0.0, 0.0, 1.0, 1.0)


def test_a_white_border_round_tinted_paper_leaves_the_same_content(tmp_path) -> None:
    # The sample's drawings sit on tinted paper; inside a white border that paper is the
    # picture's own margin, peeled side by side as on the picture alone.
    from illudex.sample import make_sample

    root = make_sample(tmp_path / "sample")
    bordered = sorted(root.rglob("* (bordered).png"))
    assert bordered
    for path in bordered:
        plain = next(root.rglob(path.name.replace(" (bordered)", "")))
        with Image.open(path) as b, Image.open(plain) as p:
            framed = np.subtract(_content_px(b.convert("RGB")), 16)
            alone = np.array(_content_px(p.convert("RGB")))
            assert np.abs(framed - alone).max() <= 0.015 * p.width, path.name  # 2 reduced px
