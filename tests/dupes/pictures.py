"""Pictures the duplicate-engine tests draw: clipart-like shapes on white."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw


def drawing(seed: int = 1, size: tuple[int, int] = (320, 256)) -> Image.Image:
    """Coloured shapes with black outlines on white, the same for the same seed."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    w, h = size
    for _ in range(6):
        x0, y0 = rnd.randint(w // 10, w // 2), rnd.randint(h // 10, h // 2)
        x1, y1 = x0 + rnd.randint(w // 6, w // 3), y0 + rnd.randint(h // 6, h // 3)
        fill = tuple(rnd.randint(40, 255) for _ in range(3))
        shape = d.ellipse if rnd.random() < 0.5 else d.rectangle
        shape((x0, y0, x1, y1), fill=fill, outline="black", width=3)
    return im
