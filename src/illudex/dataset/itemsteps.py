"""Steps on the list of items (no pixels): first-n, sample, filter, dedupe, rename."""

from __future__ import annotations

import fnmatch
import os
import random
from typing import TYPE_CHECKING, Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.step import ItemStep, Param

if TYPE_CHECKING:
    from illudex.search.query import Node

Outcome = tuple[list[Item], list[Dropped]]


class FirstN(ItemStep):
    name = "first-n"
    help = "Keep the first `n` pictures (in source order)."
    params = (Param("n", 100, "how many to keep"),)

    def run(self, items: list[Item], context: Any) -> Outcome:
        return items[: self.n], [Dropped(i, self.name, f"past the first {self.n}")
                                 for i in items[self.n:]]


class Sample(ItemStep):
    name = "sample"
    help = "Keep `n` pictures chosen at random (the same ones for the same seed)."
    params = (Param("n", 100, "how many to keep"), Param("seed", 0, "random seed"))

    def run(self, items: list[Item], context: Any) -> Outcome:
        if len(items) <= self.n:
            return items, []
        # Chosen by digest order, not list order: the same pictures whatever came first.
        ordered = sorted(items, key=lambda i: i.digest)
        chosen = {id(i) for i in random.Random(self.seed).sample(ordered, self.n)}
        return ([i for i in items if id(i) in chosen],
                [Dropped(i, self.name, f"not among the {self.n} sampled (seed {self.seed})")
                 for i in items if id(i) not in chosen])


class Filter(ItemStep):
    name = "filter"
    help = ("Keep pictures matching a query on their current tags and metatags "
            "(width, height, ratio, tags, rating, path, folder).")
    params = (Param("query", "", "e.g. \"1girl -monochrome width:>=768\""),)

    def check(self) -> None:
        from illudex.search.query import QuerySyntaxError, parse, walk

        try:
            self.parsed = parse(self.query)
        except QuerySyntaxError as e:
            raise DatasetError(f"step filter: {e}") from None
        for node in walk(self.parsed.root):
            key = getattr(node, "key", None)
            if key is not None and key not in _META:
                raise DatasetError(f"step filter: {key}: is not available on a dataset "
                                   f"item; use {', '.join(sorted(_META))}")
            if type(node).__name__ == "Similar":
                raise DatasetError("step filter: similar: and text: belong in the source "
                                   "query")

    def run(self, items: list[Item], context: Any) -> Outcome:
        kept, dropped = [], []
        for item in items:
            if self.parsed.root is None or _matches(self.parsed.root, item):
                kept.append(item)
            else:
                dropped.append(Dropped(item, self.name, f"does not match {self.query!r}"))
        return kept, dropped


def _tag_set(item: Item) -> set[str]:
    from illudex.catalog.tagrows import normalise

    return {normalise(t) for t in item.tags}


_META = {
    "width": lambda i: i.width, "height": lambda i: i.height,
    "ratio": lambda i: i.width / i.height if i.height else None,
    "tags": lambda i: len(i.tags), "rating": lambda i: i.rating,
    "path": lambda i: i.source, "folder": lambda i: os.path.dirname(i.source),
}


def _matches(node: Node, item: Item) -> bool:
    from illudex.search.query import And, Meta, Not, Or, TagTerm

    if isinstance(node, And):
        return all(_matches(c, item) for c in node.children)
    if isinstance(node, Or):
        return any(_matches(c, item) for c in node.children)
    if isinstance(node, Not):
        return not _matches(node.child, item)
    if isinstance(node, TagTerm):
        from illudex.catalog.tagrows import normalise

        tags = _tag_set(item)
        name = normalise(node.name)
        return any(fnmatch.fnmatchcase(t, name) for t in tags) if node.wildcard else name in tags
    assert isinstance(node, Meta)
    value = _META[node.key](item)
    if node.range is not None:
        return node.range.contains(value)
    if node.key == "rating":
        return value in node.values
    glob = os.path.expanduser(node.values[0])
    if node.key == "folder":
        return str(value).startswith(os.path.normpath(glob))
    return fnmatch.fnmatch(str(value), glob if "*" in glob else f"*{glob}*")


class Dedupe(ItemStep):
    name = "dedupe"
    help = ("Keep one picture of each duplicate group (illudex's engine and keeper); "
            "with alternates = \"drop\", also one of each pair of alternates.")
    params = (Param("threshold", None, "near-duplicate threshold (None: the engine's)"),
              Param("alternates", "keep", "keep | drop: variants of one picture"))

    def check(self) -> None:
        if self.alternates not in ("keep", "drop"):
            raise DatasetError("step dedupe: alternates is keep or drop")
        if self.threshold is not None and _fraction(self.threshold) is None:
            raise DatasetError("step dedupe: threshold is a similarity above 0 up to 1 (or "
                               f"None for the engine's), not {self.threshold!r}")

    def run(self, items: list[Item], context: Any) -> Outcome:
        from illudex.dupes.finder import DupesOptions, find_duplicates

        by_id = {i.image_id: i for i in items if i.image_id is not None}
        options = DupesOptions() if self.threshold is None else \
            DupesOptions(threshold=float(self.threshold))
        report = find_duplicates(context.lib.conn, sorted(by_id), options)
        gone: dict[int, str] = {}
        for group in report.groups:
            for other in group.others:
                gone[other.id] = (f"{group.relation} duplicate of "
                                  f"{os.path.basename(group.keep.path)} ({group.reason})")
        if self.alternates == "drop":
            for a, b in report.alternates:
                if a.id not in gone and b.id not in gone:
                    gone[b.id] = f"alternate of {os.path.basename(a.path)}"
        seen: dict[str, Item] = {}
        kept, dropped = [], []
        for item in items:
            if item.image_id in gone:
                dropped.append(Dropped(item, self.name, gone[item.image_id]))
            elif item.digest in seen:  # the same bytes twice outside the catalog's groups
                dropped.append(Dropped(item, self.name,
                                       f"exact duplicate of {seen[item.digest].name}"))
            else:
                seen[item.digest] = item
                kept.append(item)
        return kept, dropped


def _fraction(value: Any) -> float | None:
    """`value` as a number above 0 up to 1, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 < number <= 1.0 else None


class Rename(ItemStep):
    name = "rename"
    help = "Name the exported files: sequential (0001…), random (seeded), or by digest."
    params = (Param("how", "sequential", "sequential | random | digest"),
              Param("prefix", "", "text before the number / digest"),
              Param("start", 1, "first number (sequential)"), Param("seed", 0, "random seed"))

    def check(self) -> None:
        if self.how not in ("sequential", "random", "digest"):
            raise DatasetError("step rename: how is sequential, random or digest")

    def run(self, items: list[Item], context: Any) -> Outcome:
        width = max(4, len(str(self.start + len(items))))
        numbers = list(range(self.start, self.start + len(items)))
        if self.how == "random":
            random.Random(self.seed).shuffle(numbers)
        for item, n in zip(items, numbers, strict=True):
            tail = item.digest[:16] if self.how == "digest" else f"{n:0{width}d}"
            item.name = f"{self.prefix}{tail}"
        return items, []


STEPS: tuple[type[ItemStep], ...] = (FirstN, Sample, Filter, Dedupe, Rename)
