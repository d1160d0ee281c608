"""The WD tagger as a step: tags the picture as it is at this point of the pipeline."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from illudex.dataset.cache import Cache
from illudex.dataset.items import Dropped, Item
from illudex.dataset.step import ItemStep, Param

BATCH = 16


class Tag(ItemStep):
    name = "tag"
    help = ("Tag with a WD tagger (thresholds as `illudex tag`); pictures that already "
            "have tags keep them unless force = true.")
    params = (Param("model", None, "tagger name, folder or file (default: illudex's)"),
              Param("general_threshold", 0.35, "keep general tags scoring above"),
              Param("character_threshold", 0.85, "keep character tags scoring above"),
              Param("force", False, "re-tag pictures that already have tags"))

    def run(self, items: list[Item], context: Any) -> tuple[list[Item], list[Dropped]]:
        todo = [i for i in items if self.force or not i.tags]
        cache: Cache = context.cache
        missing = [i for i in todo if not self._from_cache(cache, i)]
        if missing:
            self._tag(missing, cache)
        return items, []

    def _record(self, item: Item) -> str:
        # `force` says which pictures to tag, not what the tags are: not in the key.
        model = {k: v for k, v in self.values.items() if k != "force"}
        text = json.dumps([self.name, self.version, model], sort_keys=True)
        return f"tags-{item.key}-{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}"

    def _from_cache(self, cache: Cache, item: Item) -> bool:
        found = cache.get(self._record(item))
        if found is not None:
            _apply(item, found)
        return found is not None

    def _tag(self, items: list[Item], cache: Cache) -> None:
        from illudex.analysers.taggers import load_tagger
        from illudex.analysers.wd_tagger import DEFAULT_TAGGER, TagOptions
        from illudex.imageio import decode

        tagger = load_tagger(self.model or DEFAULT_TAGGER, embeddings=False)
        options = TagOptions(general_threshold=self.general_threshold,
                             character_threshold=self.character_threshold)
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            images = [decode(i.file, side=max(tagger.size, 448)).image for i in batch]
            for item, result in zip(batch, tagger.tag(images, [i.file for i in batch], options),
                                    strict=True):
                found = {"character": list(result.character), "general": list(result.general),
                         "rating": result.top_rating}
                cache.put(self._record(item), found)
                _apply(item, found)


def _apply(item: Item, found: dict[str, Any]) -> None:
    item.tags = [*found["character"], *found["general"]]
    item.categories = {**{t: "character" for t in found["character"]},
                       **{t: "general" for t in found["general"]}}
    item.rating = found["rating"] or item.rating


STEPS: tuple[type[ItemStep], ...] = (Tag,)

