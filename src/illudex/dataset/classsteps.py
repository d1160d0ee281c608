"""Model steps that judge the whole picture: its class (comic, 3d, monochrome ...) by a
classifier, and its aesthetic quality score; results in `meta["class"]` and
`meta["quality"]`, and for catalog pictures in the catalog (`class:`, `quality:`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
        def load() -> tuple[Any, Any]:
            from illudex.analysers.classify import Classifier

            classifier = Classifier.load(self.model)
            return classifier, classifier.prep

        return _picture_values(items, context, "class", "cls", str(self.model),
                               ("illudex.analysers.classify:Classifier", load),
                               partial(run_method, "scores_prepared", ()))


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
        def load() -> tuple[Any, Any]:
            from illudex.analysers.quality import QualityScorer

            scorer = QualityScorer.load(self.model)
            return scorer, scorer.classifier.prep

        return _picture_values(items, context, "quality", "qual", str(self.model),
                               ("illudex.analysers.quality:QualityScorer", load),
                               _quality_records)


def _quality_records(scorer: Any, batch: list[Any]) -> list[dict[str, Any]]:
    """`qualityrun.records`, imported only when a batch runs: a build answered from the
    cache never loads the scorer's code. Module-level, so that it pickles to workers."""
    from illudex.analysers.qualityrun import records

    return records(scorer, batch)


def _picture_values(
    items: list[Item], context: Any, kind: str, prefix: str, model: str,
    analyser: tuple[str, Callable[[], tuple[Any, Any]]], run: Callable[..., list[Any]],
) -> list[Any]:
    """One model's value per item (its picture), cached per item and model, and kept in
    the catalog as `kind` for catalog pictures. `analyser`: where the workers load the
    model from, and how to load it here (the model and its preprocessing)."""
    recipe = recipe_key(kind, model_id(model))[:16]
    workers = decode_workers(context)
    where, load = analyser

    def compute(missing: list[Item]) -> Iterator[Any]:
        local, prep = load()
        use = ModelUse(partial(load_analyser, where, model), run)
        for value, _ in model_outputs(missing, local, prep, use, workers, context):
            yield value

    return cached_values(context.cache, items, lambda i: f"{prefix}-{i.key}-{recipe}",
                         compute, Stored.of(context, kind, model))


STEPS: tuple[type[ItemStep], ...] = (ClassFilter, MonochromeModel, MinQuality)
