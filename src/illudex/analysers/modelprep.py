"""Pre-processing for the detectors, classifiers and CCIP: picklable and light (Pillow and
numpy only, never onnxruntime), so decode worker processes run it while the model runs.

`prepare_many` decodes and prepares pictures in order, in `workers` spawned processes
(read-ahead of a few batches) or in this process for one worker or a handful of files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from illudex.analysers.prefetch import in_order

PAD_GREY = 114  # ultralytics' LetterBox fill
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32).reshape(3, 1, 1)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32).reshape(3, 1, 1)


def open_upright(path: str) -> Image.Image:
    """The picture as a viewer shows it (EXIF orientation applied), decoded in full."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        image.load()
    return image


def on_white(image: Image.Image) -> Image.Image:
    """RGB, transparency composited onto white (imgutils' force_background='white')."""
    if image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


@dataclass(frozen=True)
class Placement:
    """How a picture was put into the model's input: out = in * scale + pad."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    width: int  # the original picture's
    height: int


def letterbox(image: Image.Image, size: tuple[int, int],
              original: tuple[int, int] | None = None) -> tuple[np.ndarray, Placement]:
    """ultralytics' LetterBox (auto=False, centred): uint8 HWC RGB of `size` (w, h).
    `original`: the picture's full size when `image` is a reduced decode of it."""
    w, h = original or image.size
    tw, th = size
    r = min(tw / w, th / h)
    nw, nh = round(w * r), round(h * r)
    dw, dh = (tw - nw) / 2, (th - nh) / 2
    left, top = round(dw - 0.1), round(dh - 0.1)  # as ultralytics rounds the halves
    canvas = Image.new("RGB", (tw, th), (PAD_GREY,) * 3)
    resized = image if (nw, nh) == image.size else \
        image.resize((nw, nh), Image.Resampling.BILINEAR)
    canvas.paste(resized, (left, top))
    return np.asarray(canvas, dtype=np.uint8), Placement(nw / w, nh / h, left, top, w, h)


def stretch(image: Image.Image, size: tuple[int, int],
            original: tuple[int, int] | None = None) -> tuple[np.ndarray, Placement]:
    """imgutils' `_image_preprocess` (allow_dynamic=False): resize to `size`, bicubic."""
    w, h = original or image.size
    out = image.resize(size, Image.Resampling.BICUBIC)
    return np.asarray(out, dtype=np.uint8), Placement(size[0] / w, size[1] / h, 0, 0, w, h)


@dataclass(frozen=True)
class DetectPrep:
    """A detector's input: uint8 HWC RGB and where the picture went."""

    size: tuple[int, int]
    resize: str = "letterbox"

    def __call__(self, image: Image.Image, original: tuple[int, int] | None = None
                 ) -> tuple[np.ndarray, Placement]:
        rgb = on_white(image)
        return (letterbox if self.resize == "letterbox" else stretch)(rgb, self.size, original)

    def draft_size(self, w: int, h: int) -> tuple[int, int]:
        """The least a reduced JPEG decode must keep: the size the picture is resized to."""
        if self.resize == "stretch":
            return self.size
        r = min(self.size[0] / w, self.size[1] / h)
        return max(1, round(w * r)), max(1, round(h * r))


@dataclass(frozen=True)
class ClassifyPrep:
    """imgutils' classifier encoding: on white, bilinear to `size`, /255, (x - 0.5) / 0.5,
    CHW float32."""

    size: tuple[int, int]

    def __call__(self, image: Image.Image, original: tuple[int, int] | None = None
                 ) -> np.ndarray:
        data = np.asarray(on_white(image).resize(self.size, Image.Resampling.BILINEAR),
                          np.float32)
        return ((data.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5).astype(np.float32)

    def draft_size(self, w: int, h: int) -> tuple[int, int]:
        return self.size


@dataclass(frozen=True)
class CCIPPrep:
    """imgutils' CCIP encoding: bilinear squash to size², /255, CLIP mean and std."""

    size: int

    def __call__(self, image: Image.Image, original: tuple[int, int] | None = None
                 ) -> np.ndarray:
        data = np.asarray(on_white(image).resize((self.size, self.size),
                                                 Image.Resampling.BILINEAR),
                          np.float32).transpose(2, 0, 1) / 255.0
        return ((data - CLIP_MEAN) / CLIP_STD).astype(np.float32)

    def draft_size(self, w: int, h: int) -> tuple[int, int]:
        return self.size, self.size


Prep = Callable[..., Any]
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that turn the picture a quarter


def open_for(prep: Prep, path: str) -> tuple[Image.Image, tuple[int, int]]:
    """The picture upright, a JPEG decoded at the smallest DCT scale that still covers
    what `prep` resizes it to (a 1600 x 1200 JPEG for a 640 detector: half the side,
    a quarter of the decode), and its full upright size."""
    with Image.open(path) as opened:
        w, h = opened.size
        orientation = int(opened.getexif().get(0x0112, 1) or 1)
        full = (h, w) if orientation in _SWAPS_AXES else (w, h)
        target = getattr(prep, "draft_size", None)
        if opened.format == "JPEG":
            # draft() keeps both sides >= the request, in the file's own orientation.
            need = target(*full) if target else (max(1, w), max(1, h))
            need = (need[1], need[0]) if orientation in _SWAPS_AXES else need
            opened.draft(opened.mode, (max(1, need[0]), max(1, need[1])))
        image = ImageOps.exif_transpose(opened)
        image.load()
    return image, full


def prepare_file(task: tuple[str, Prep]) -> tuple[Any, tuple[int, int], str]:
    """Worker job: (prepared, full picture size, error text); never raises."""
    path, prep = task
    try:
        image, full = open_for(prep, path)
        return prep(image, full), full, ""
    except Exception as e:  # a worker must never die on one file
        return None, (0, 0), f"cannot read {path}: {type(e).__name__}: {e}"


def prepare_many(paths: Sequence[str], prep: Prep, workers: int, ahead: int = 32
                 ) -> Iterator[tuple[Any, tuple[int, int], str]]:
    """`prepare_file` over `paths`, in order."""
    tasks = [(p, prep) for p in paths]
    if workers <= 1 or len(tasks) < 4:
        yield from map(prepare_file, tasks)
        return
    yield from in_order(prepare_file, tasks, workers, ahead)


