"""Preprocessing for the taggers and CLIP: picklable and light, so decode workers run it.

Kept apart from the model modules so a worker process imports Pillow and numpy only,
never onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from illudex.imageio import DecodeError, decode

DEFAULT_SIZE = 448
_RESAMPLING = {
    "bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST, "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class WDPreprocess:
    """The reference preprocessing; picklable, so decode workers can run it.

    White square pad (centred) → bicubic resize to `size` → BGR. Returns uint8 HWC; the
    float32 cast happens batch-wise in the parent (a quarter of the bytes to pickle).
    """

    size: int = DEFAULT_SIZE

    def __call__(self, image: Image.Image) -> np.ndarray:
        image = _rgb_on_white(image)
        w, h = image.size
        side = max(w, h)
        if (w, h) != (side, side):
            square = Image.new("RGB", (side, side), (255, 255, 255))
            square.paste(image, ((side - w) // 2, (side - h) // 2))
            image = square
        if side != self.size:
            image = image.resize((self.size, self.size), Image.Resampling.BICUBIC)
        return np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[:, :, ::-1])

    @property
    def decode_side(self) -> int:
        return max(512, self.size)


def _rgb_on_white(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
        canvas.alpha_composite(image.convert("RGBA"))
        return canvas.convert("RGB")
    return image.convert("RGB")


@dataclass(frozen=True)
class ClipPreprocess:
    """Resize (shortest side to `size`, or squash) + centre crop; uint8 HWC RGB out.

    Picklable for decode workers; the /255, mean/std step runs batch-wise in the parent.
    """

    size: int = 224
    resize_mode: str = "shortest"
    interpolation: str = "bicubic"

    def __call__(self, image: Image.Image) -> np.ndarray:
        if image.mode != "RGB":
            image = image.convert("RGB")
        resample = _RESAMPLING.get(self.interpolation, Image.Resampling.BICUBIC)
        s = self.size
        if self.resize_mode == "squash":
            image = image.resize((s, s), resample)
        else:
            # open_clip's "shortest": shortest side to s (long side truncated), centre crop
            w, h = image.size
            new = (s, int(h / w * s)) if w < h else (int(w / h * s), s)
            if new != (w, h):
                image = image.resize(new, resample)
            left, top = int(image.width / 2 - s / 2), int(image.height / 2 - s / 2)
            image = image.crop((left, top, left + s, top + s))
        return np.asarray(image, dtype=np.uint8)

    @property
    def decode_side(self) -> int:
        return max(512, 2 * self.size)



Preprocess = WDPreprocess | ClipPreprocess


def prepare_file(task: tuple[int, str, Preprocess]) -> tuple[int, str, np.ndarray | None, str]:
    """Worker job: decode one file once and preprocess it; errors come back as text."""
    image_id, path, prep = task
    try:
        decoded = decode(path, side=prep.decode_side)
        return image_id, path, prep(decoded.image), ""
    except DecodeError as e:
        return image_id, path, None, str(e)
    except Exception as e:  # a worker must never die on one bad file
        return image_id, path, None, f"cannot prepare: {type(e).__name__}: {e}"


