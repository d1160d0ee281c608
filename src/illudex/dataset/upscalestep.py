"""The upscale step: enlarge small pictures with a super-resolution model (tiled), then
shrink to the wanted size; the result is a PNG in the step cache, noted in
`meta["upscaled"]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Item
from illudex.dataset.modelrun import ModelStep, Outcome, model_id, open_upright, recipe_key
from illudex.dataset.step import ItemStep, Param
from illudex.models import deepghs

if TYPE_CHECKING:
    from illudex.dataset.cache import Cache


class Upscale(ModelStep):
    name = "upscale"
    help = ("Enlarge pictures whose shorter side is under `min_size` with a super-resolution "
            "model, tiled so big pictures fit in memory; then shrink to exactly `min_size`.")
    params = (Param("model", deepghs.DEFAULT_UPSCALER, "upscaler name, folder or .onnx file"),
              Param("min_size", 1024, "shorter side wanted (px)"),
              Param("tile", 512, "tile side (px of the input)"),
              Param("overlap", 64, "tile overlap (px of the input)"),
              Param("max_passes", 2, "most model runs on one picture"))

    def check(self) -> None:
        if int(self.tile) < 16 or not 0 <= int(self.overlap) < int(self.tile):
            raise DatasetError("step upscale: tile >= 16 and 0 <= overlap < tile")

    def apply(self, items: list[Item], context: Any) -> Outcome:
        small = [i for i in items if min(i.width, i.height) < int(self.min_size)]
        if small:
            upscaler = _Lazy(self.model)
            for item in small:
                self.upscale(item, upscaler, context.cache)
        return items, []

    def upscale(self, item: Item, upscaler: _Lazy, cache: Cache) -> None:
        key = recipe_key("upscale", item.key, model_id(self.model), self.min_size, self.tile,
                   self.overlap, self.max_passes)
        path = cache.file_path(key, ".png")
        if not path.exists():
            self.write(item, upscaler.get(), path, cache)
        from PIL import Image

        with Image.open(path) as done:
            size = done.size
        item.meta["upscaled"] = {"parent_key": item.key, "from": [item.width, item.height],
                                 "to": list(size), "model": str(self.model)}
        item.key, item.file, (item.width, item.height) = key, str(path), size

    def write(self, item: Item, upscaler: Any, path: Any, cache: Cache) -> None:
        from illudex.dataset.pixelsteps import resized

        image = open_upright(item.file)
        for _ in range(int(self.max_passes)):
            if min(image.size) >= int(self.min_size):
                break
            image = upscaler.upscale(image, int(self.tile), int(self.overlap))
        scale = int(self.min_size) / min(image.size)
        if scale < 1:
            image = resized(image, (max(1, round(image.width * scale)),
                                    max(1, round(image.height * scale))))
        cache.save_picture(image, path)


class _Lazy:
    """The upscaler, loaded only when a picture is not in the cache."""

    def __init__(self, model: str) -> None:
        self.model, self.loaded = model, None

    def get(self) -> Any:
        if self.loaded is None:
            from illudex.analysers.upscale import Upscaler

            self.loaded = Upscaler.load(self.model)
        return self.loaded


STEPS: tuple[type[ItemStep], ...] = (Upscale,)
