"""What a dataset step is: its parameters, and the two kinds a run knows.

A `PixelStep` works on one picture's pixels, in a worker process, cached by input
digest and parameters; an `ItemStep` works on the list of items and their metadata, in
the main process. Steps are found by name in `registry`; this module is what every step
module (and a plugin) builds on, so it imports none of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from illudex.dataset.errors import DatasetError
from illudex.errors import IlludexError

if TYPE_CHECKING:
    from PIL import Image

    from illudex.dataset.items import Dropped, Item


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    help: str


class Drop(IlludexError):
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
        try:
            self.check()
        except (TypeError, ValueError) as e:  # checks read numbers: float("abc") is a typo
            raise DatasetError(f"step {self.name}: a parameter is not of its kind ({e})"
                               ) from None

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
