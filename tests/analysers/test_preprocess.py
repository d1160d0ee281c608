"""Preprocessing against the reference formulas, on real-looking files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from illudex.analysers.preprocess import ClipPreprocess, WDPreprocess, prepare_file
from illudex.imageio import decode


def wd_reference(path: Path, size: int = 448) -> np.ndarray:
    """The WD tagger's own recipe (SmilingWolf's demo): RGBA onto white, pad, bicubic, BGR."""
    image = Image.open(path).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    side = max(image.size)
    padded = Image.new("RGB", (side, side), (255, 255, 255))
    padded.paste(image, ((side - image.size[0]) // 2, (side - image.size[1]) // 2))
    if side != size:
        padded = padded.resize((size, size), Image.BICUBIC)
    return np.asarray(padded, dtype=np.float32)[:, :, ::-1]


def clip_reference(path: Path, size: int) -> np.ndarray:
    """open_clip 'shortest' resize + centre crop, as the CLIP layout's exporters do it
    (transparent pixels made white first, as illudex decodes for every analyser)."""
    image = Image.open(path).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    w, h = image.size
    new = (size, int(h / w * size)) if w < h else (int(w / h * size), size)
    image = image.resize(new, Image.BICUBIC)
    left, top = int(image.width / 2 - size / 2), int(image.height / 2 - size / 2)
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _files(folder: Path) -> dict[str, Path]:
    out = {}
    rgba = _noise((157, 301, 4), 1)
    rgba[..., 3] = np.linspace(0, 255, 301).astype(np.uint8)[None, :]  # graded transparency
    out["rgba"] = folder / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(out["rgba"])
    palette = Image.fromarray(_noise((401, 123, 3), 2), "RGB").quantize(64)
    out["palette"] = folder / "palette.png"
    palette.save(out["palette"], transparency=5)
    out["grey"] = folder / "grey.png"
    Image.fromarray(_noise((77, 99), 3), "L").save(out["grey"])
    out["grey_alpha"] = folder / "la.png"
    Image.fromarray(_noise((300, 200, 2), 4), "LA").save(out["grey_alpha"])
    out["jpeg"] = folder / "photo.jpg"
    Image.fromarray(_noise((333, 500, 3), 5), "RGB").save(out["jpeg"], quality=90)
    out["square"] = folder / "square.png"
    Image.fromarray(_noise((448, 448, 3), 6), "RGB").save(out["square"])
    return out


def test_wd_preprocessing_equals_the_reference(tmp_path: Path) -> None:
    for kind, path in _files(tmp_path).items():
        mine = WDPreprocess(448)(decode(path).image)
        assert mine.dtype == np.uint8 and mine.shape == (448, 448, 3), kind
        np.testing.assert_array_equal(mine.astype(np.float32), wd_reference(path), err_msg=kind)


def test_wd_preprocessing_of_a_large_picture_stays_close(tmp_path: Path) -> None:
    # Decoding at 512 px first (shared with the other analysers) costs a second resample.
    image = Image.new("RGB", (1600, 1131), "white")
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x, y = i * 37 % 1500, i * 53 % 1000
        draw.ellipse((x, y, x + 150, y + 120), fill=(i * 6 % 256, i * 40 % 256, 255 - i * 5),
                     outline=(0, 0, 0), width=4)
    path = tmp_path / "art.jpg"
    image.save(path, quality=92)
    diff = np.abs(WDPreprocess(448)(decode(path).image) - wd_reference(path))
    assert diff.mean() < 1.5


def test_wd_preprocessing_uses_the_models_size(tmp_path: Path) -> None:
    path = _files(tmp_path)["rgba"]
    mine = WDPreprocess(64)(decode(path).image)
    np.testing.assert_array_equal(mine, wd_reference(path, 64))


def test_wd_preprocessing_of_an_undecoded_rgba_picture_composites_on_white() -> None:
    image = Image.new("RGBA", (10, 20), (255, 0, 0, 0))  # fully transparent red
    out = WDPreprocess(20)(image)
    assert (out == 255).all()


@pytest.mark.parametrize("kind", ["jpeg", "palette", "grey", "square"])
def test_clip_preprocessing_equals_the_reference(tmp_path: Path, kind: str) -> None:
    path = _files(tmp_path)[kind]
    mine = ClipPreprocess(64)(decode(path).image)
    np.testing.assert_array_equal(mine, clip_reference(path, 64))


def test_prepare_file_reports_undecodable_files(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    image_id, path, array, error = prepare_file((7, str(bad), WDPreprocess(32)))
    assert (image_id, path, array) == (7, str(bad), None)
    assert error
    good = _files(tmp_path)["grey"]
    _, _, array, error = prepare_file((8, str(good), WDPreprocess(32)))
    assert error == "" and array is not None and array.shape == (32, 32, 3)
