"""Tiled super-resolution with an ONNX upscaler (Real-ESRGAN / Real-CUGAN / CDC style).

Interface: input `[1, 3, H, W]` float32 RGB 0..1 (dynamic H, W); output `[1, 3, sH, sW]`,
or CDC's `[1, 3, s, H, s, W]` which imgutils reshapes to `[1, 3, sH, sW]` as is
(upscale/cdc.py). The scale s is read from a 16 x 16 probe run, as imgutils does.

Tiles (imgutils' defaults: 512 with 64 overlap) keep the memory of one run bounded, so a
big picture fits; overlapping outputs are blended with weights that fall off towards
each tile's edge, so no seam shows where tiles meet.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.modelprep import on_white
from illudex.analysers.onnxfiles import model_files
from illudex.models.errors import ModelMismatch
from illudex.models.registry import ModelSpec
from illudex.models.sessions import get_session

PROBE = 16


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins covering 0..length, neighbours overlapping by at least `overlap`."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile, stride))
    return [*starts, length - tile]


def _ramp(length: int, overlap: int) -> np.ndarray:
    """1 inside, falling linearly towards both ends over `overlap` (never 0)."""
    edge = max(1, overlap)
    pos = np.arange(length, dtype=np.float32)
    return np.minimum(1.0, np.minimum(pos + 1, length - pos) / (edge + 1))


def tiled(x: np.ndarray, run: Callable[[np.ndarray], np.ndarray], scale: int, tile: int,
          overlap: int) -> np.ndarray:
    """Apply `run` ([1,3,h,w] → [1,3,sh,sw]) tile by tile over x [1,3,H,W]; blend."""
    _, c, h, w = x.shape
    out = np.zeros((c, h * scale, w * scale), np.float32)
    weight = np.zeros((1, h * scale, w * scale), np.float32)
    for top in tile_starts(h, tile, overlap):
        for left in tile_starts(w, tile, overlap):
            piece = x[:, :, top:top + tile, left:left + tile]
            result = run(piece)[0]
            th, tw = result.shape[1:]
            # Where one tile alone covers a pixel its weight cancels out in the division.
            mask = (_ramp(th, overlap * scale)[:, None] * _ramp(tw, overlap * scale)[None])[None]
            ys, xs = top * scale, left * scale
            out[:, ys:ys + th, xs:xs + tw] += result * mask
            weight[:, ys:ys + th, xs:xs + tw] += mask
    return out / np.maximum(weight, 1e-8)


class Upscaler:
    def __init__(self, spec: ModelSpec, path: Path, *, device: str = "auto") -> None:
        self.spec, self.name = spec, spec.name
        self.session = get_session(path, device=device)
        self.input_name = self.session.get_inputs()[0].name
        self.scale = self._probe()

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], *, device: str = "auto",
             allow_download: bool = True) -> Upscaler:
        spec, files = model_files(name_or_path, "upscaler", allow_download=allow_download)
        return cls(spec, files[0], device=device)

    def _probe(self) -> int:
        out = self._run(np.zeros((1, 3, PROBE, PROBE), np.float32))
        scale = out.shape[2] // PROBE
        if out.shape[:2] != (1, 3) or scale < 1 or out.shape[2:] != (PROBE * scale,) * 2:
            raise ModelMismatch(f"upscaler {self.name!r}: a {PROBE}x{PROBE} input gave "
                                f"{out.shape}, not [1, 3, s*{PROBE}, s*{PROBE}]")
        return scale

    def _run(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(self.session.run(None, {self.input_name: x.astype(np.float32)})[0])
        if out.ndim == 6:  # CDC: [b, c, s, h, s, w], reshaped as imgutils does
            b, c, s, h, _, w = out.shape
            out = out.reshape(b, c, s * h, s * w)
        return out

    def upscale(self, image: Image.Image, tile: int = 512, overlap: int = 64) -> Image.Image:
        """One pass of the model (x `self.scale`), on white, RGB out."""
        x = np.asarray(on_white(image), np.float32).transpose(2, 0, 1)[None] / 255.0
        out = tiled(x, self._run, self.scale, tile, overlap)
        pixels = (np.clip(out, 0.0, 1.0).transpose(1, 2, 0) * 255.0).round().astype(np.uint8)
        return Image.fromarray(pixels, "RGB")
