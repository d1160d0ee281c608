"""Fixtures for the dataset pipeline: a folder of real pictures with the awkward cases
(alpha, palette, EXIF rotation, an exact copy, a grey one, a small one), tagged by
sidecar files, and the tiny WD-layout tagger."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conftest import draw_picture, save_picture
from tests.fixtures.model_env import isolated_models, tagger_dir  # noqa: F401


@pytest.fixture
def art(tmp_path: Path) -> Path:
    folder = tmp_path / "art"
    for n in range(4):
        save_picture(folder / f"p{n}.png", size=(640, 480), seed=n)
        (folder / f"p{n}.txt").write_text(f"1girl, solo, tag_{n}, white_background")
    rgba = draw_picture((600, 600), seed=10).convert("RGBA")
    rgba.putalpha(Image.new("L", rgba.size, 0).point(lambda _: 0))  # fully transparent
    rgba.paste(draw_picture((300, 300), seed=11), (150, 150))  # an opaque middle
    rgba.save(folder / "alpha.png")
    (folder / "alpha.txt").write_text("1girl, transparent_background")
    draw_picture((520, 700), seed=12).convert("P").save(folder / "palette.png")
    (folder / "palette.txt").write_text("1girl, solo")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    save_picture(folder / "rotated.jpg", size=(800, 600), seed=13, exif=exif.tobytes())
    (folder / "rotated.txt").write_text("1boy, solo")
    (folder / "copy_of_p0.png").write_bytes((folder / "p0.png").read_bytes())
    (folder / "copy_of_p0.txt").write_text("1girl, solo, tag_0, white_background")
    draw_picture((600, 600), seed=14).convert("L").save(folder / "grey.png")
    (folder / "grey.txt").write_text("1girl, solo")
    save_picture(folder / "small.png", size=(200, 150), seed=15)
    (folder / "small.txt").write_text("1girl, solo")
    return folder
