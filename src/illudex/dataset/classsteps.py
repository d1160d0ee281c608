"""Model steps that judge the whole picture: its class (comic, 3d, monochrome ...) by a
classifier, and its aesthetic quality score; results in `meta["class"]` and
`meta["quality"]`, and for catalog pictures in the catalog (`class:`, `quality:`)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.modelrun import (
    ModelStep,
    ModelUse,
    Outcome,
    Stored,
    cached_values,
    decode_workers,
    list_param,
    load_analyser,
    model_id,
    model_outputs,
    recipe_key,
    run_method,
)
from illudex.dataset.step import ItemStep, Param
from illudex.models import deepghs


class ClassFilter(ModelStep):
    name = "class-filter"
    help = ("Keep pictures by a classifier's labels: drop those where a `drop` label "
            "scores >= threshold, and (with `keep`) those whose best label is not in it.")
    params = (Param("model", deepghs.DEFAULT_CLASSIFY, "classifier name, folder or file"),
              Param("keep", [], "labels allowed as the best label ([]: any)"),
              Param("drop", ["comic", "3d", "not_painting"], "labels that drop a picture"),
              Param("threshold", 0.5, "score at which a drop label drops"))

    def check(self) -> None:
        list_param(self, "keep")
        list_param(self, "drop")

    def apply(self, items: list[Item], context: Any) -> Outcome:
        kept, dropped = [], []
        found = self.scores(items, context)
        self.check_labels(found)
        for item, scores in zip(items, found, strict=True):
            item.meta.setdefault("class", {}).update(scores)
            reason = self.reason(scores)
            if reason:
                dropped.append(Dropped(item, self.name, reason))
            else:
                kept.append(item)
        return kept, dropped

    def check_labels(self, found: list[dict[str, float]]) -> None:
        """A label the model does not have would silently never match: say so."""
        if not found:
            return
        labels = set(found[0])
        unknown = sorted((set(self.keep) | set(self.drop)) - labels)
        if unknown:
            raise DatasetError(f"step {self.name}: model {self.model!r} has no label "
                               f"{', '.join(unknown)}; its labels: {', '.join(sorted(labels))}")

    def reason(self, scores: dict[str, float]) -> str | None:
        for label in self.drop:
            if scores.get(label, 0.0) >= float(self.threshold):
                return f"class {label} {scores[label]:.3f} >= {self.threshold}"
        best = max(scores, key=scores.__getitem__)
        if self.keep and best not in self.keep:
            return f"class {best} ({scores[best]:.3f}) not in {', '.join(self.keep)}"
        return None

    def scores(self, items: list[Item], context: Any) -> list[dict[str, float]]:
        recipe = recipe_key("class", model_id(self.model))[:16]
        workers = decode_workers(context)

        def compute(missing: list[Item]) -> Iterator[dict[str, float]]:
            from illudex.analysers.classify import Classifier

            classifier = Classifier.load(self.model)
            use = ModelUse(partial(load_analyser, "illudex.analysers.classify:Classifier",
                                   str(self.model)),
                           partial(run_method, "scores_prepared", ()))
            for scores, _ in model_outputs(missing, classifier, classifier.prep, use, workers,
                                          context):
                yield scores

        return cached_values(context.cache, items, lambda i: f"cls-{i.key}-{recipe}", compute,
                       Stored.of(context, "class", self.model))


class MonochromeModel(ClassFilter):
    name = "no-monochrome-model"
    help = ("Drop monochrome pictures by a model (deepghs monochrome_detect), which also "
            "catches sketches in one ink colour that the pixel step lets through.")
    params = (Param("model", deepghs.DEFAULT_MONOCHROME, "classifier name, folder or file"),
              Param("keep", [], "labels allowed as the best label ([]: any)"),
              Param("drop", ["monochrome"], "labels that drop a picture"),
              Param("threshold", 0.5, "score at which a drop label drops"))


# --- quality ----------------------------------------------------------------------------


class MinQuality(ModelStep):
    name = "min-quality"
    help = ("Drop pictures whose aesthetic quality score (0..1, the percentile among the "
            "model's own samples) is under `min`; reads the score `illudex quality` stored.")
    params = (Param("model", deepghs.DEFAULT_AESTHETIC, "aesthetic model name, folder or file"),
              Param("min", 0.5, "lowest quality kept (0..1)"))

    def check(self) -> None:
        if not 0 <= float(self.min) <= 1:
            raise DatasetError(f"step {self.name}: min is between 0 and 1")

    def apply(self, items: list[Item], context: Any) -> Outcome:
        kept, dropped = [], []
        for item, found in zip(items, self.scores(items, context), strict=True):
            item.meta["quality"] = found["quality"]
            if found["quality"] < float(self.min):
                dropped.append(Dropped(item, self.name, f"quality {found['quality']:.3f} "
                                                        f"< {self.min} ({found['label']})"))
            else:
                kept.append(item)
        return kept, dropped

    def scores(self, items: list[Item], context: Any) -> list[dict[str, Any]]:
        recipe = recipe_key("quality", model_id(self.model))[:16]
        workers = decode_workers(context)

        def compute(missing: list[Item]) -> Iterator[dict[str, Any]]:
            from illudex.analysers.quality import QualityScorer
            from illudex.analysers.qualityrun import records

            scorer = QualityScorer.load(self.model)
            use = ModelUse(partial(load_analyser, "illudex.analysers.quality:QualityScorer",
                                   str(self.model)), records)
            for record, _ in model_outputs(missing, scorer, scorer.classifier.prep, use,
                                           workers, context):
                yield record

        return cached_values(context.cache, items, lambda i: f"qual-{i.key}-{recipe}", compute,
                       Stored.of(context, "quality", self.model))


STEPS: tuple[type[ItemStep], ...] = (ClassFilter, MonochromeModel, MinQuality)
