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


def line_drawing(seed: int, size: tuple[int, int] = (800, 640)) -> Image.Image:
    """Sparse black line art on white (a sketch, a colouring page): one-pixel outlines of
    a few shapes and strokes, mostly paper; unrelated for different seeds."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    w, h = size
    for _ in range(rnd.randint(3, 5)):
        x0, y0 = rnd.randint(w // 12, w // 2), rnd.randint(h // 12, h // 2)
        x1, y1 = x0 + rnd.randint(w // 8, w // 2 - 10), y0 + rnd.randint(h // 8, h // 2 - 10)
        kind = rnd.choice(["ellipse", "rectangle", "polygon"])
        if kind == "polygon":
            points = [(rnd.randint(x0, x1), rnd.randint(y0, y1)) for _ in range(rnd.randint(3, 6))]
            d.line([*points, points[0]], fill="black", width=1)
        else:
            getattr(d, kind)((x0, y0, x1, y1), outline="black", width=1)
    for _ in range(rnd.randint(2, 3)):
        points = [(rnd.randint(w // 12, w - w // 12), rnd.randint(h // 12, h - h // 12))
                  for _ in range(4)]
        d.line(points, fill="black", width=1)
    return im


def flag(
    colours: tuple[tuple[int, int, int], ...], size: tuple[int, int] = (360, 240)
) -> Image.Image:
    """Vertical stripes, one per colour, and a white disc in the middle: a layout many
    flags share."""
    im = Image.new("RGB", size)
    d = ImageDraw.Draw(im)
    w, h = size
    for k, colour in enumerate(colours):
        d.rectangle((k * w // len(colours), 0, (k + 1) * w // len(colours) - 1, h - 1), fill=colour)
    d.ellipse((w // 2 - h // 5, h // 2 - h // 5, w // 2 + h // 5, h // 2 + h // 5), fill="white")
    return im
