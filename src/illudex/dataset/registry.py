"""Steps by name: the built-in ones and those other packages register.

A step is either a `PixelStep` (works on one picture's pixels, in a worker process,
cached by input digest and parameters) or an `ItemStep` (works on the list of items and
their metadata, in the main process). A package adds steps through the entry point
group `illudex.dataset_steps`: the name is the step's name, the object a `PixelStep` /
`ItemStep` subclass or a plain function `f(image, **params) -> image | None` (None drops
the picture), which becomes a pixel step.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from illudex.dataset.errors import DatasetError

if TYPE_CHECKING:
    from PIL import Image

    from illudex.dataset.items import Dropped, Item

ENTRY_POINT_GROUP = "illudex.dataset_steps"


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    help: str


class Drop(Exception):
    """Raised by a pixel step to leave the picture out, with the reason."""


class Step:
    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    version: ClassVar[int] = 1  # bump when the output for the same parameters changes

    def __init__(self, **values: Any) -> None:
        known = {p.name: p for p in self.params}
        unknown = set(values) - set(known)
        if unknown:
            raise DatasetError(f"step {self.name}: unknown parameter(s) "
                               f"{', '.join(sorted(unknown))}; it takes "
                               f"{', '.join(known) or 'none'}")
        self.values = {n: values.get(n, p.default) for n, p in known.items()}
        self.check()

    def check(self) -> None:
        """Raise DatasetError for parameter values the step cannot use."""

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def fingerprint(self) -> str:
        """Name, version and parameters: the cache key's share of this step."""
        text = json.dumps([self.name, self.version, self.values], sort_keys=True, default=str)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class PixelStep(Step):
    def __call__(self, image: Image.Image) -> Image.Image:
        """The new picture (the same object when nothing changes); raise Drop to drop."""
        raise NotImplementedError

    def skip_by_metadata(self, item: Item) -> str | None:
        """A reason to drop the picture from its tags alone (no decode), or None."""
        return None

    def resize_to(self, width: int, height: int) -> tuple[int, int] | None:
        """When the step starts by resizing (or only resizes), the size it resizes a
        picture of this size to; the worker then folds consecutive resizes into one
        resample from the source and calls `after_resize`. None: the step resizes
        nothing, or not in a way known before it sees the pixels."""
        return None

    def after_resize(self, image: Image.Image) -> Image.Image:
        """The rest of a step whose `resize_to` gave a size, on the resized picture."""
        return image

    def shrinks_to(self, width: int, height: int) -> tuple[int, int] | None:
        """The size this step will shrink a picture of this size to, when known before
        decoding (the decoder then reads a JPEG at reduced scale), else None."""
        return None


class ItemStep(Step):
    def run(self, items: list[Item], context: Any) -> tuple[list[Item], list[Dropped]]:
        raise NotImplementedError


def _function_step(name: str, func: Callable[..., Any]) -> type[PixelStep]:
    """A plain function as a pixel step; its keyword arguments are its parameters."""
    signature = inspect.signature(func)
    params = tuple(Param(p.name, None if p.default is p.empty else p.default, "")
                   for p in list(signature.parameters.values())[1:])

    def call(self: PixelStep, image: Image.Image) -> Image.Image:
        out = func(image, **self.values)
        if out is None:
            raise Drop(f"{name} left it out")
        return out

    return type(name, (PixelStep,), {"name": name, "help": (func.__doc__ or "").strip(),
                                     "params": params, "__call__": call})


@functools.cache
def registry() -> dict[str, type[Step]]:
    from illudex.dataset import captionstep, itemsteps, modelsteps, pixelsteps, tagstep

    steps: dict[str, type[Step]] = {}
    for module in (pixelsteps, itemsteps, captionstep, tagstep, modelsteps):
        for step in module.STEPS:
            steps[step.name] = step
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        if isinstance(loaded, type) and issubclass(loaded, Step):
            steps[entry.name] = loaded
        elif callable(loaded):
            steps[entry.name] = _function_step(entry.name, loaded)
    return steps


def make_step(name: str, params: dict[str, Any]) -> Step:
    steps = registry()
    if name not in steps:
        raise DatasetError(f"no step named {name!r}; known: {', '.join(sorted(steps))}")
    try:
        return steps[name](**params)
    except TypeError as e:
        raise DatasetError(f"step {name}: {e}") from None


def describe_steps() -> list[dict[str, Any]]:
    """Every step with its kind, help and parameters (for `illudex dataset steps`)."""
    return [
        {"name": name, "kind": "pixels" if issubclass(step, PixelStep) else "items",
         "help": step.help,
         "params": [{"name": p.name, "default": p.default, "help": p.help} for p in step.params]}
        for name, step in sorted(registry().items())
    ]
