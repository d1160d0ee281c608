"""`illudex.json` of a custom embedder folder, and its preprocessing (picklable, light:
decode workers import this module, never onnxruntime).

    {"kind": "embedder", "layout": "NCHW", "size": 224, "resize": "squash",
     "colours": "RGB", "scale": 255, "mean": [...], "std": [...], "output": "penultimate"}

`resize`: squash (stretch to a square) | pad (centre on a white square) | crop (shortest
side to `size`, centre crop). `scale`: pixel values are divided by it before mean/std.
`output`: an output name, or "penultimate" for the input of the final classifier layer.
Optional: `name` (stored name; default the folder's), `normalise` (L2, default true).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from illudex.models.errors import ModelCorrupt

CONFIG_FILE = "illudex.json"
_RESIZES = ("squash", "pad", "crop")


@dataclass(frozen=True)
class EmbedderPreprocess:
    """Decoded picture → uint8 HWC RGB of `size`²; the float steps run batch-wise."""

    size: int = 224
    resize: str = "squash"

    def __call__(self, image: Image.Image) -> np.ndarray:
        if image.mode != "RGB":
            image = _on_white(image)
        s, (w, h) = self.size, image.size
        if self.resize == "pad" and w != h:
            side = max(w, h)
            square = Image.new("RGB", (side, side), (255, 255, 255))
            square.paste(image, ((side - w) // 2, (side - h) // 2))
            image = square
        elif self.resize == "crop":
            scale = s / min(w, h)
            image = image.resize((max(s, round(w * scale)), max(s, round(h * scale))),
                                 Image.Resampling.BICUBIC)
            left, top = (image.width - s) // 2, (image.height - s) // 2
            return np.asarray(image.crop((left, top, left + s, top + s)), dtype=np.uint8)
        if image.size != (s, s):
            image = image.resize((s, s), Image.Resampling.BICUBIC)
        return np.asarray(image, dtype=np.uint8)

    @property
    def decode_side(self) -> int:
        return max(512, 2 * self.size)


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    canvas.alpha_composite(rgba)
    return canvas.convert("RGB")


@dataclass(frozen=True)
class EmbedderConfig:
    """What `illudex.json` says, checked."""

    name: str
    layout: str
    preprocess: EmbedderPreprocess
    colours: str
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output: str
    normalise: bool

    def to_input(self, batch: np.ndarray) -> np.ndarray:
        """uint8 NHWC RGB → the model's float32 input."""
        x = batch.astype(np.float32)
        if self.colours == "BGR":
            x = x[..., ::-1]
        x = (x / self.scale - np.asarray(self.mean, np.float32)) / np.asarray(self.std,
                                                                              np.float32)
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=np.float32)


def is_embedder_folder(path: str | Path) -> bool:
    return (Path(path).expanduser() / CONFIG_FILE).is_file()


def read_config(folder: Path) -> EmbedderConfig:
    """The folder's checked config; `ModelCorrupt` naming the bad field."""
    path = folder / CONFIG_FILE
    try:
        raw: dict[str, Any] = dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise ModelCorrupt(f"{str(path)!r} cannot be read as JSON ({e})") from e

    def pick(key: str, default: object, allowed: tuple[object, ...] = ()) -> Any:
        value = raw.get(key, default)
        if allowed and value not in allowed:
            raise ModelCorrupt(f"{str(path)!r}: {key!r} is {value!r}; use one of {allowed}")
        return value

    pick("kind", "embedder", ("embedder",))
    try:
        mean, std = _triple(pick("mean", [0.0] * 3)), _triple(pick("std", [1.0] * 3))
        size, scale = int(pick("size", 224)), float(pick("scale", 255))
    except (TypeError, ValueError) as e:
        raise ModelCorrupt(f"{str(path)!r}: size, scale, mean or std is malformed ({e})") from e
    if size < 1 or scale <= 0 or 0.0 in std:
        raise ModelCorrupt(f"{str(path)!r}: size and scale must be positive, std non-zero")
    return EmbedderConfig(
        name=str(pick("name", folder.name)), layout=pick("layout", "NCHW", ("NCHW", "NHWC")),
        preprocess=EmbedderPreprocess(size, pick("resize", "squash", _RESIZES)),
        colours=pick("colours", "RGB", ("RGB", "BGR")), scale=scale, mean=mean, std=std,
        output=str(pick("output", "penultimate")), normalise=bool(pick("normalise", True)),
    )


def _triple(value: object) -> tuple[float, float, float]:
    items = [float(v) for v in value]  # type: ignore[attr-defined]
    if len(items) != 3:
        raise ValueError(f"expected 3 numbers, got {len(items)}")
    return items[0], items[1], items[2]
