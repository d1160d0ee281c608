"""Steps by name: the built-in ones and those other packages register.

A step is a `PixelStep` or an `ItemStep` (`illudex.dataset.step`, also importable from
here). A package adds steps through the entry point group `illudex.dataset_steps`: the
name is the step's name, the object a `PixelStep` / `ItemStep` subclass or a plain
function `f(image, **params) -> image | None` (None drops the picture), which becomes a
pixel step.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.step import Drop, ItemStep, Param, PixelStep, Step

if TYPE_CHECKING:
    from PIL import Image

# The step base classes are re-exported: plugins written against this module keep working.
__all__ = ["Drop", "ItemStep", "Param", "PixelStep", "Step", "describe_steps", "make_step",
           "registry"]

ENTRY_POINT_GROUP = "illudex.dataset_steps"


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
    from illudex.dataset import (
        captionstep,
        characterstep,
        classsteps,
        cropsteps,
        detectsteps,
        itemsteps,
        pixelsteps,
        tagstep,
        upscalestep,
    )

    steps: dict[str, type[Step]] = {}
    for module in (pixelsteps, itemsteps, captionstep, tagstep, detectsteps, cropsteps,
                   classsteps, characterstep, upscalestep):
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
