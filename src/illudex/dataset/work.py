"""One picture through a run of pixel steps, in a worker process.

The picture is opened once (a JPEG at reduced DCT scale when the first resizing step
will shrink it anyway), upright (EXIF orientation), and only decoded when a step touches
its pixels: a picture no step changes is never decoded and is exported as its source
file. The outcome is stored in the cache before it is returned, so finished pictures
survive an interrupted run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import traceback
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from illudex.dataset.cache import Cache
from illudex.dataset.registry import make_step
from illudex.dataset.step import Drop, PixelStep

VERSION = 2  # of how a run of steps is carried out (resampling, folding): in every key
FORMATS = {"png": ("PNG", ".png"), "jpg": ("JPEG", ".jpg"), "jpeg": ("JPEG", ".jpg"),
           "webp": ("WEBP", ".webp")}


@dataclass(frozen=True)
class Encoding:
    """How the last run of pixel steps writes a picture (None for an inner run)."""

    image_format: str = "png"
    quality: int = 95
    flatten_alpha: bool = True
    force: bool = False  # mode = "encode": write every picture anew


@dataclass(frozen=True)
class Job:
    file: str
    key: str  # the input pixels' key
    steps: tuple[tuple[str, dict[str, Any]], ...]
    encoding: Encoding | None
    cache_root: str

    def out_key(self) -> str:
        text = json.dumps([VERSION, self.key,
                           [make_step(n, p).fingerprint() for n, p in self.steps],
                           self.encoding.__dict__ if self.encoding else None], sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def run_job(job: Job) -> dict[str, Any]:
    """{"key", "file" (None: the input unchanged), "width", "height",
    "dropped": [step, reason] | None, "error": str | None}; errors are not cached."""
    cache = _cache(job.cache_root)
    key = job.out_key()
    found = cache.get(key)
    if found is not None:
        return found
    try:
        outcome = _process(job, key, cache)
    except Exception as e:  # a user's file: one line in the report, the run goes on
        detail = f"{type(e).__name__}: {e}" if str(e) else traceback.format_exc(limit=1)
        return {"key": key, "error": detail}
    cache.put(key, outcome)
    return outcome


@functools.cache
def _cache(root: str) -> Cache:
    return Cache(root)  # one per process: it remembers the folders it made


def _process(job: Job, key: str, cache: Cache) -> dict[str, Any]:
    steps = [make_step(n, p) for n, p in job.steps]
    assert all(isinstance(s, PixelStep) for s in steps)
    with Image.open(job.file) as opened:
        _draft(opened, steps)  # type: ignore[arg-type]
        frame = _Frame(_upright(opened))
        frame.changed = frame.image is not opened
        for step in steps:
            try:
                frame.apply(step)  # type: ignore[arg-type]
            except Drop as why:
                return {"key": key, "dropped": [step.name, str(why)], "width": frame.width,
                        "height": frame.height}
        return _finish(job, key, cache, frame.resolved(), frame.changed)


class _Frame:
    """The picture between steps, with a resize still to do: consecutive resizing steps
    (align-min-size then pad …) become one resample from the source, not one each."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.pending: tuple[int, int] | None = None
        self.changed = False

    @property
    def width(self) -> int:
        return (self.pending or self.image.size)[0]

    @property
    def height(self) -> int:
        return (self.pending or self.image.size)[1]

    def resolved(self) -> Image.Image:
        if self.pending is not None and self.pending != self.image.size:
            from illudex.dataset.pixelsteps import resized

            self.image, self.changed = resized(self.image, self.pending), True
        self.pending = None
        return self.image

    def apply(self, step: PixelStep) -> None:
        target = step.resize_to(self.width, self.height)
        if target is not None:
            self.pending = target
            if type(step).after_resize is PixelStep.after_resize:
                return  # a pure resize: wait for the next step
            out = step.after_resize(self.resolved())
        else:
            out = step(self.resolved())
        self.changed = self.changed or out is not self.image
        self.image = out


def _draft(image: Image.Image, steps: list[PixelStep]) -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale when the first step that sets the size
    shrinks it at least that much (steps before it must not need the full size)."""
    if image.format != "JPEG":
        return
    for step in steps:
        if step.name in ("mode-convert", "no-monochrome"):
            continue
        target = step.shrinks_to(*image.size)
        if target is not None and target != image.size:
            image.draft(image.mode, target)
        return


def _upright(image: Image.Image) -> Image.Image:
    try:
        orientation = int(image.getexif().get(0x0112, 1) or 1)
    except Exception:  # broken EXIF must not make the picture unusable
        return image
    return image if orientation == 1 else ImageOps.exif_transpose(image)


def _finish(job: Job, key: str, cache: Cache, image: Image.Image, changed: bool
            ) -> dict[str, Any]:
    enc = job.encoding
    if enc is not None and enc.flatten_alpha and _has_alpha(image):
        from illudex.dataset.pixelsteps import on_background

        image, changed = on_background(image, (255, 255, 255)), True
    if enc is not None and enc.force:
        changed = True
    out: dict[str, Any] = {"key": key, "dropped": None, "width": image.width,
                           "height": image.height, "file": None}
    if changed:
        out["file"] = _save(image, cache, key, enc)
    return out


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _save(image: Image.Image, cache: Cache, key: str, enc: Encoding | None) -> str:
    fmt, suffix = FORMATS.get((enc.image_format if enc else "png").lower(), FORMATS["png"])
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        from illudex.dataset.pixelsteps import on_background

        image = on_background(image, (255, 255, 255))
    path = cache.file_path(key, suffix)
    options: dict[str, Any] = {} if fmt == "PNG" else {"quality": enc.quality if enc else 95}
    cache.save_picture(image, path, fmt, **options)
    return str(path)
