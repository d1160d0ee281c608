"""Model-free steps on pixels. Each returns the same picture object when it changes
nothing, so an untouched picture is exported as its source file (linked, not re-encoded)."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageColor

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Item
from illudex.dataset.step import Drop, Param, PixelStep

RESAMPLE = Image.Resampling.BICUBIC
MONOCHROME_TAGS = frozenset({"monochrome", "greyscale", "grayscale"})


def colour(value: Any) -> tuple[int, int, int]:
    """A colour as a name, "#rrggbb" or [r, g, b]."""
    try:
        if isinstance(value, str):
            return ImageColor.getrgb(value)[:3]  # type: ignore[return-value]
        r, g, b = (int(v) for v in value)
        return r, g, b
    except (ValueError, TypeError):
        raise DatasetError(f"not a colour: {value!r} (a name, \"#rrggbb\" or [r, g, b])") \
            from None


def on_background(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Any mode → RGB, transparency composited onto `background`."""
    if image.mode == "RGB":
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "La", "PA", "RGBa") or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        out = Image.new("RGB", image.size, background)
        out.paste(image, mask=image.getchannel("A"))
        return out
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def _scaled(image: Image.Image, scale: float) -> Image.Image:
    w, h = image.size
    return resized(image, (max(1, round(w * scale)), max(1, round(h * scale))))


def resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Bicubic (Pillow's antialiased convolution, as waifuc's actions get it), after an
    integer box reduce when shrinking more than 2x (Pillow's reducing_gap): Lanczos cost
    twice as much for a difference not visible at training size (docs/decisions.md
    "Dataset pictures")."""
    if size == image.size:
        return image
    if image.mode not in ("RGB", "RGBA", "L", "LA", "I", "F"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image.resize(size, RESAMPLE, reducing_gap=2.0)


class ModeConvert(PixelStep):
    name = "mode-convert"
    help = "RGBA / P / L / CMYK → RGB, transparency on a background colour."
    params = (Param("background", "white", "colour under transparent parts"),)

    def check(self) -> None:
        self.rgb = colour(self.background)

    def __call__(self, image: Image.Image) -> Image.Image:
        return on_background(image, self.rgb)


class MinSize(PixelStep):
    name = "min-size"
    help = "Drop pictures whose shorter side is under `size`."
    params = (Param("size", 512, "smallest allowed shorter side (px)"),)

    def __call__(self, image: Image.Image) -> Image.Image:
        if min(image.size) < self.size:
            raise Drop(f"shorter side {min(image.size)} px < {self.size}")
        return image


class _Shrink(PixelStep):
    def target(self, w: int, h: int) -> float:
        raise NotImplementedError

    def __call__(self, image: Image.Image) -> Image.Image:
        scale = self.target(*image.size)
        return image if scale >= 1 else _scaled(image, scale)

    def resize_to(self, width: int, height: int) -> tuple[int, int] | None:
        scale = min(1.0, self.target(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))

    def shrinks_to(self, width: int, height: int) -> tuple[int, int] | None:
        return self.resize_to(width, height)


class AlignMinSize(_Shrink):
    name = "align-min-size"
    help = "Shrink (never enlarge) so the shorter side is `size`."
    params = (Param("size", 512, "shorter side after (px)"),)

    def target(self, w: int, h: int) -> float:
        return self.size / min(w, h)


class AlignMaxSize(_Shrink):
    name = "align-max-size"
    help = "Shrink (never enlarge) so the longer side is at most `size`."
    params = (Param("size", 1024, "longest side after (px)"),)

    def target(self, w: int, h: int) -> float:
        return self.size / max(w, h)


class MaxArea(_Shrink):
    name = "max-area"
    help = "Shrink (never enlarge) to at most `pixels` pixels."
    params = (Param("pixels", 1024 * 1024, "largest area (width x height)"),)

    def target(self, w: int, h: int) -> float:
        return math.sqrt(self.pixels / (w * h))


class Pad(PixelStep):
    name = "pad"
    help = ("Fit into `size` (a square side or [w, h]) and pad the rest with `colour`; "
            "or, with `aspect` (\"1:1\", \"2:3\"), pad to that shape without resizing.")
    params = (Param("size", 512, "square side or [width, height]; 0 with aspect"),
              Param("aspect", "", "width:height to pad to, keeping the pixels as they are"),
              Param("colour", "white", "padding colour"))

    def check(self) -> None:
        self.rgb = colour(self.colour)
        size = self.size
        self.box = (size, size) if isinstance(size, int) else tuple(int(v) for v in size)
        if not self.aspect and min(self.box) < 1:
            raise DatasetError("step pad: give size > 0 or an aspect")
        if self.aspect:
            try:
                aw, ah = (float(v) for v in str(self.aspect).split(":"))
                self.ratio = aw / ah
            except ValueError:
                raise DatasetError(f"step pad: aspect is written W:H, not {self.aspect!r}") \
                    from None

    def __call__(self, image: Image.Image) -> Image.Image:
        if not self.aspect:
            size = self.resize_to(*image.size)
            image = resized(image, size) if size else image
        return self.after_resize(image)

    def resize_to(self, width: int, height: int) -> tuple[int, int] | None:
        if self.aspect:
            return None
        scale = min(self.box[0] / width, self.box[1] / height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def after_resize(self, image: Image.Image) -> Image.Image:
        w, h = image.size
        box = (max(w, round(h * self.ratio)), max(h, round(w / self.ratio))) if self.aspect \
            else self.box
        if image.size == box:
            return image
        out = Image.new(image.mode if image.mode in ("RGB", "RGBA") else "RGB", box,
                        self.rgb)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGB")
        out.paste(image, ((box[0] - image.width) // 2, (box[1] - image.height) // 2))
        return out

    def shrinks_to(self, width: int, height: int) -> tuple[int, int] | None:
        size = self.resize_to(width, height)
        return size if size and size[0] <= width else None


def bucket_resolutions(resolution: int, min_side: int, max_side: int, steps: int
                       ) -> list[tuple[int, int]]:
    """sd-scripts' `make_bucket_resolutions` (library/model_util.py): sides in `steps`
    between `min_side` and `max_side`, area at most resolution²."""
    area = resolution * resolution
    side = int(math.sqrt(area) // steps) * steps
    resos = {(side, side)}
    width = min_side
    while width <= max_side:
        height = min(max_side, int((area // width) // steps) * steps)
        if height >= min_side:
            resos.update({(width, height), (height, width)})
        width += steps
    return sorted(resos)


class Bucket(PixelStep):
    name = "bucket"
    help = ("Resize and centre-crop to kohya's training buckets: the bucket whose aspect "
            "is nearest, covering it, then cropping the overflow.")
    params = (Param("resolution", 512, "bucket area is at most resolution²"),
              Param("min_side", 256, "min_bucket_reso"), Param("max_side", 1024, "max_bucket_reso"),
              Param("steps", 64, "bucket_reso_steps"),
              Param("no_upscale", False, "bucket_no_upscale: small pictures keep their size"))

    def check(self) -> None:
        if self.steps < 8 or self.min_side > self.max_side:
            raise DatasetError("step bucket: steps >= 8 and min_side <= max_side")
        self.buckets = bucket_resolutions(self.resolution, self.min_side, self.max_side,
                                          self.steps)

    def choose(self, w: int, h: int) -> tuple[int, int]:
        if self.no_upscale:
            # sd-scripts (BucketManager, no_upscale): the picture's own shape, shrunk to
            # the area when larger, each side rounded down to the steps.
            scale = min(1.0, math.sqrt(self.resolution ** 2 / (w * h)))
            return (max(self.steps, int(w * scale) // self.steps * self.steps),
                    max(self.steps, int(h * scale) // self.steps * self.steps))
        ratio = w / h
        return min(self.buckets, key=lambda b: (abs(b[0] / b[1] - ratio), -b[0] * b[1]))

    def __call__(self, image: Image.Image) -> Image.Image:
        w, h = image.size
        bw, bh = self.choose(w, h)
        if (w, h) == (bw, bh):
            return image
        scale = max(bw / w, bh / h)
        covering = _scaled(image, scale)
        left, top = (covering.width - bw) // 2, (covering.height - bh) // 2
        return covering.crop((left, top, left + bw, top + bh))


class NoMonochrome(PixelStep):
    name = "no-monochrome"
    help = ("Drop black-and-white and near-grey pictures: tagged monochrome / greyscale, "
            "or whose 95th-percentile saturation is under `saturation`.")
    params = (Param("saturation", 0.1, "0..1: below this the picture counts as grey"),
              Param("use_tags", True, "also drop pictures tagged monochrome / greyscale"))

    def skip_by_metadata(self, item: Item) -> str | None:
        tagged = MONOCHROME_TAGS.intersection(t.replace(" ", "_") for t in item.tags)
        return f"tagged {sorted(tagged)[0]}" if self.use_tags and tagged else None

    def __call__(self, image: Image.Image) -> Image.Image:
        import numpy as np

        small = image.convert("RGB")
        small.thumbnail((128, 128))
        s = np.asarray(small.convert("HSV"))[..., 1]
        p95 = float(np.quantile(s, 0.95)) / 255
        if p95 < self.saturation:
            raise Drop(f"monochrome: saturation {p95:.3f} < {self.saturation}")
        return image


STEPS: tuple[type[PixelStep], ...] = (ModeConvert, MinSize, AlignMinSize, AlignMaxSize,
                                      MaxArea, Pad, Bucket, NoMonochrome)
