"""Caption edits: the tokens each picture's caption file will hold, in order."""

from __future__ import annotations

import fnmatch
import random
import re
from typing import Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.step import ItemStep, Param


class Caption(ItemStep):
    name = "caption"
    help = ("Edit caption tokens: drop by name/glob, regex or category, replace, "
            "underscores ↔ spaces, escape parentheses, trigger words first, shuffle "
            "(seeded) after the first keep_tokens.")
    params = (
        Param("drop", [], "tags to drop (globs allowed: \"*_background\")"),
        Param("drop_pattern", [], "regular expressions; a matching tag is dropped"),
        Param("drop_category", [], "categories to drop: general, character, copyright, "
                                   "artist, meta"),
        Param("replace", {}, "table old = \"new\""),
        Param("spaces", None, "true: underscores → spaces; false: spaces → underscores"),
        Param("escape_parens", False, "write ( ) as \\( \\) (prompt syntax)"),
        Param("first", [], "trigger words put first (added when missing)"),
        Param("keep_tokens", 0, "tokens kept in place when shuffling (after the trigger words)"),
        Param("shuffle", False, "shuffle the tokens after keep_tokens"),
        Param("seed", 0, "shuffle seed"),
    )

    def check(self) -> None:
        try:
            self.patterns = [re.compile(p) for p in self.drop_pattern]
        except re.error as e:
            raise DatasetError(f"step caption: bad drop_pattern: {e}") from None
        if not isinstance(self.replace, dict):
            raise DatasetError("step caption: replace is a table: { old = \"new\" }")

    def run(self, items: list[Item], context: Any) -> tuple[list[Item], list[Dropped]]:
        for item in items:
            item.tags = self.edit(item)
        return items, []

    def edit(self, item: Item) -> list[str]:
        tokens = [t for t in item.tags if not self._dropped(t, item.categories.get(t))]
        tokens = [self.replace.get(t, t) for t in tokens]
        first = [str(t) for t in self.first]
        tokens = first + [t for t in tokens if t not in first]
        if self.shuffle:
            fixed = len(first) + self.keep_tokens
            rest = tokens[fixed:]
            random.Random(f"{self.seed}:{item.digest}").shuffle(rest)
            tokens = tokens[:fixed] + rest
        return [self._spelled(t) for t in dict.fromkeys(tokens)]

    def _dropped(self, tag: str, category: str | None) -> bool:
        return (any(fnmatch.fnmatchcase(tag, d) for d in self.drop)
                or any(p.search(tag) for p in self.patterns)
                or (category is not None and category in self.drop_category))

    def _spelled(self, tag: str) -> str:
        if self.spaces is True and len(tag) > 3:  # ^_^ and friends keep their underscores
            tag = tag.replace("_", " ")
        elif self.spaces is False:
            tag = tag.replace(" ", "_")
        if self.escape_parens:
            tag = re.sub(r"(?<!\\)([()])", r"\\\1", tag)
        return tag


STEPS: tuple[type[ItemStep], ...] = (Caption,)
