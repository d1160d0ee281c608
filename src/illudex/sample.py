"""A small sample folder to try illudex on: drawn pictures, their edited copies, a
recoloured alternate, caption files, and a few broken files.

    python -m illudex.sample DIR
"""

from __future__ import annotations

import colorsys
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

TAG_POOL = ["1girl", "solo", "long_hair", "short_hair", "smile", "blue_eyes", "red_eyes",
            "dress", "school_uniform", "outdoors", "sky", "flower", "cat_ears", "holding",
            "looking_at_viewer", "simple_background", "white_background", "open_mouth"]


def drawing(rnd: random.Random, size: tuple[int, int]) -> Image.Image:
    """A flat-coloured drawing with outlines: shapes on a tinted background."""
    w, h = size
    hue = rnd.random()
    bg = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.12, 0.97))
    im = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(im)
    for _ in range(rnd.randint(5, 10)):
        colour = tuple(int(c * 255) for c in colorsys.hsv_to_rgb(
            (hue + rnd.uniform(-0.4, 0.4)) % 1, rnd.uniform(0.4, 0.9), rnd.uniform(0.5, 1.0)))
        x0, y0 = rnd.randint(0, w - 40), rnd.randint(0, h - 40)
        x1, y1 = rnd.randint(x0 + 30, w), rnd.randint(y0 + 30, h)
        shape = rnd.choice(("ellipse", "rectangle", "polygon"))
        if shape == "polygon":
            points = [(rnd.randint(0, w), rnd.randint(0, h)) for _ in range(rnd.randint(3, 6))]
            draw.polygon(points, fill=colour, outline=(30, 30, 30), width=3)
        else:
            getattr(draw, shape)((x0, y0, x1, y1), fill=colour, outline=(30, 30, 30), width=3)
    for _ in range(6):
        draw.line([(rnd.randint(0, w), rnd.randint(0, h)) for _ in range(3)],
                  fill=(30, 30, 30), width=2)
    return im


def recolour(im: Image.Image, shift: int) -> Image.Image:
    h, s, v = im.convert("HSV").split()
    h = h.point(lambda x: (x + shift) % 256)
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def make_sample(folder: str | Path, n: int = 12, seed: int = 7) -> Path:
    root = Path(folder)
    rnd = random.Random(seed)
    (root / "pictures").mkdir(parents=True, exist_ok=True)
    (root / "downloads" / "old").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        im = drawing(rnd, (rnd.choice((640, 800, 960)), rnd.choice((720, 900, 1024))))
        name = f"art_{i:02d}"
        im.save(root / "pictures" / f"{name}.png")
        tags = rnd.sample(TAG_POOL, 6)
        (root / "pictures" / f"{name}.txt").write_text(", ".join(tags), encoding="utf-8")
        if i % 3 == 0:
            small = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
            small.save(root / "downloads" / f"{name}_small.jpg", quality=80)
        if i % 4 == 1:
            ImageOps.expand(im, border=16, fill=(255, 255, 255)).save(
                root / "downloads" / "old" / f"{name} (bordered).png")
        if i % 4 == 2:
            im.filter(ImageFilter.GaussianBlur(1)).save(
                root / "downloads" / f"{name}-blur.webp", quality=85)
        if i % 5 == 0:
            recolour(im, 90).save(root / "pictures" / f"{name}_alt_colours.png")
    (root / "pictures" / "art_00 copy.png").write_bytes((root / "pictures" / "art_00.png")
                                                        .read_bytes())
    (root / "downloads" / "empty.png").write_bytes(b"")
    (root / "downloads" / "notes.png").write_text("this is not a picture", encoding="utf-8")
    return root


if __name__ == "__main__":
    target = make_sample(sys.argv[1] if len(sys.argv) > 1 else "sample")
    print(f"sample folder ready: {target}")
