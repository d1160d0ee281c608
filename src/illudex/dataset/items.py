"""One picture on its way through the pipeline, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Item:
    """A picture: where its pixels are now, its caption tokens and its metadata.

    `key` names the pixels: the source's content digest at first, then a digest of that
    and every pixel step applied (the cache key); `file` is the source itself until a
    step changes the pixels, then the cached result."""

    source: str  # the original file (never written)
    digest: str  # the source's content digest
    key: str
    file: str
    image_id: int | None = None
    name: str = ""  # file name stem in the export
    width: int = 0
    height: int = 0
    tags: list[str] = field(default_factory=list)  # caption tokens, in order
    categories: dict[str, str] = field(default_factory=dict)  # tag → category
    rating: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # booru post facts, …
    exported: str | None = None  # the picture's path in the export, relative to it

    @property
    def caption(self) -> str:
        return ", ".join(self.tags)


@dataclass(frozen=True)
class Dropped:
    """A picture a step left out, and why (the report shows every one)."""

    item: Item
    step: str
    reason: str
