"""Dataset steps that need a model: faces, heads and people (count, crop, split), picture
class, the quality score, the CCIP character filter and upscaling.

Each is an item step: it runs in this process, loads its model once (through illudex's
model registry: a name, a folder or an .onnx file in `model`), decodes pictures in
worker processes, runs the model on batches and caches what it said per picture key
and parameters, so a re-run runs no model. What it found goes into the item's
metadata (`detections`, `class`, `quality`, `ccip`, `upscaled`), which the `files` export writes
to each picture's sidecar.

A crop is a new item: its own pixels (a PNG in the cache) and key, its parent's tags
and rating (until a later `tag` step with force = true re-tags it), and its provenance
in `meta["crop"]`: the parent's digest, key and source, the box in the parent's pixels
and the detection it came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.registry import ItemStep, Param
from illudex.models import deepghs

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from illudex.analysers.detect import Box
    from illudex.dataset.cache import Cache

Outcome = tuple[list[Item], list[Dropped]]
BATCH = 8  # pictures decoded and run together


def _key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _model_id(name: str) -> str:
    from illudex.models.registry import model_source

    return model_source(name)


def open_upright(path: str) -> Image.Image:
    from illudex.analysers.modelprep import open_upright as opened

    return opened(path)


def decode_workers(context: Any) -> int:
    """Decode processes beside the model: one fewer than the pipeline's workers (the
    model's own threads take a core), at most 4; 0 decodes in this process."""
    return max(0, min(4, int(getattr(context, "workers", 1) or 1) - 1))


def prepared_batches(items: Sequence[Item], prep: Any, workers: int
                     ) -> Iterator[tuple[list[Any], list[tuple[int, int]]]]:
    """(prepared inputs, picture sizes) per batch of BATCH, decoded by `workers`."""
    from illudex.analysers.modelprep import prepare_many

    batch: list[Any] = []
    sizes: list[tuple[int, int]] = []
    for value, size, error in prepare_many([i.file for i in items], prep, workers):
        if error:
            raise DatasetError(error)
        batch.append(value)
        sizes.append(size)
        if len(batch) == BATCH:
            yield batch, sizes
            batch, sizes = [], []
    if batch:
        yield batch, sizes


@dataclass(frozen=True)
class Stored:
    """Where a step keeps what its model found on catalog pictures: the catalog's
    model_results, by digest, kind and recipe, so that another pipeline (with its own
    steps before this one) and search (`faces:1`, `class:comic`) need no model."""

    conn: sqlite3.Connection
    kind: str  # face, head, person, halfbody, class, quality
    recipe: str  # JSON: the model's source and the step's settings
    model: str  # as the step names it

    @staticmethod
    def of(context: Any, kind: str, model: str, *settings: Any) -> Stored | None:
        lib = getattr(context, "lib", None)
        if lib is None:
            return None
        recipe = json.dumps([_model_id(model), *settings])
        return Stored(lib.conn, kind, recipe, str(model))

    def load(self, items: Sequence[Item]) -> dict[str, Any]:
        from illudex.catalog import modelresults

        return modelresults.load(self.conn, [i.digest for i in items if _in_catalog(i)],
                                 self.kind, self.recipe)

    def save(self, pairs: list[tuple[Item, Any]]) -> None:
        from illudex.catalog import modelresults

        modelresults.store(self.conn, self.kind, self.recipe, self.model, (
            _result(item.digest, self.kind, value) for item, value in pairs
            if _in_catalog(item)))


def _in_catalog(item: Item) -> bool:
    """A catalog picture with its pixels unchanged: what the model saw is the picture."""
    return item.image_id is not None and item.key == item.digest


def _result(digest: str, kind: str, value: Any) -> Any:
    from illudex.catalog.modelresults import CLASS_KIND, QUALITY_KIND, Result

    if kind == QUALITY_KIND:
        return Result(digest, value, label=value.get("label"))
    if kind == CLASS_KIND:
        return Result(digest, value, label=max(value, key=value.__getitem__) if value else None)
    return Result(digest, value, count=len(value["boxes"]))


def _cached(cache: Cache, items: Sequence[Item], record: Callable[[Item], str],
            compute: Callable[[list[Item]], Iterable[Any]],
            stored: Stored | None = None) -> list[Any]:
    """Per item: the value the catalog or the cache holds, or computed for the missing
    ones, in order; each is kept as it comes (the catalog's a batch at a time), so a
    run stopped half-way keeps what it finished."""
    known = stored.load(items) if stored else {}
    found = [known.get(i.digest) if _in_catalog(i) else None for i in items]
    found = [f if f is not None else cache.get(record(i)) for i, f in zip(items, found,
                                                                          strict=True)]
    # Found in the cache of a run before the catalog kept them: kept there now.
    pending = [(i, f) for i, f in zip(items, found, strict=True)
               if f is not None and _in_catalog(i) and i.digest not in known]
    missing = [n for n, f in enumerate(found) if f is None]
    if missing:
        for n, value in zip(missing, compute([items[n] for n in missing]), strict=True):
            cache.put(record(items[n]), value)
            found[n] = value
            pending.append((items[n], value))
            if stored and len(pending) >= BATCH:
                stored.save(pending)
                pending = []
    if stored:
        stored.save(pending)
    return found


def _as_list(step: ItemStep, key: str) -> list[str]:
    """A list parameter also written as one string ("comic" for ["comic"])."""
    value = step.values[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"step {step.name}: {key} is a list of strings, not {value!r}")
    step.values[key] = list(value)
    return step.values[key]


class _ModelStep(ItemStep):
    """A step whose model problems (missing, corrupt) end the run with one message."""

    def run(self, items: list[Item], context: Any) -> Outcome:
        from illudex.models.errors import ModelError

        try:
            return self.apply(items, context)
        except ModelError as e:
            raise DatasetError(f"step {self.name}: {e}") from e

    def apply(self, items: list[Item], context: Any) -> Outcome:
        raise NotImplementedError


# --- detection ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Detections:
    width: int
    height: int
    boxes: list[Box]


@dataclass(frozen=True)
class DetectorUse:
    """One detector with its thresholds, run over items with the cache."""

    model: str
    conf: float
    iou: float
    resize: str = "letterbox"
    workers: int = 0  # decode processes
    kind: str = "face"  # what it finds, as the catalog keeps it

    def run(self, items: Sequence[Item], cache: Cache, context: Any = None
            ) -> list[Detections]:
        """Boxes per item; with a pipeline `context`, catalog pictures' boxes are read
        from and written to the catalog too."""
        from illudex.analysers.detect import Box

        recipe = _key("detect", _model_id(self.model), self.conf, self.iou, self.resize)
        stored = Stored.of(context, self.kind, self.model, self.conf, self.iou, self.resize)
        found = _cached(cache, items, lambda i: f"det-{i.key}-{recipe[:16]}", self._compute,
                        stored)
        return [Detections(f["size"][0], f["size"][1], [Box.from_json(b) for b in f["boxes"]])
                for f in found]

    def _compute(self, items: list[Item]) -> Iterator[dict[str, Any]]:
        from illudex.analysers.detect import Detector

        detector = Detector.load(self.model, resize=self.resize)
        for batch, sizes in prepared_batches(items, detector.prep, self.workers):
            boxes = detector.detect_prepared(batch, self.conf, self.iou)
            for size, found in zip(sizes, boxes, strict=True):
                yield {"size": list(size), "boxes": [b.to_json() for b in found]}


def _detector_params(model: str, conf: float, iou: float) -> tuple[Param, ...]:
    return (Param("model", model, "detector: registry name, model folder or .onnx file"),
            Param("conf", conf, "detection confidence threshold"),
            Param("iou", iou, "NMS IoU threshold"),
            Param("resize", "letterbox", "letterbox (ultralytics) | stretch (imgutils)"))


class _Detecting(_ModelStep):
    what: ClassVar[str] = "face"

    def check(self) -> None:
        if self.resize not in ("letterbox", "stretch"):
            raise DatasetError(f"step {self.name}: resize is letterbox or stretch")
        if not 0 <= float(self.conf) <= 1 or not 0 <= float(self.iou) <= 1:
            raise DatasetError(f"step {self.name}: conf and iou are between 0 and 1")

    def detector(self, context: Any) -> DetectorUse:
        return DetectorUse(str(self.model), float(self.conf), float(self.iou), self.resize,
                           decode_workers(context), self.what)

    def detect(self, items: list[Item], context: Any) -> list[Detections]:
        found = self.detector(context).run(items, context.cache, context)
        for item, det in zip(items, found, strict=True):
            boxes = item.meta.setdefault("detections", {})
            boxes[self.what] = [b.to_json() for b in det.boxes]
        return found


# --- counting and area filters -----------------------------------------------------------


class _Count(_Detecting):
    def apply(self, items: list[Item], context: Any) -> Outcome:
        kept, dropped = [], []
        high = None if self.max is None else int(self.max)
        for item, det in zip(items, self.detect(items, context), strict=True):
            n = len(det.boxes)
            if n < int(self.min) or (high is not None and n > high):
                wanted = f"{self.min}..{'' if high is None else high}"
                dropped.append(Dropped(item, self.name, f"{n} {self.what}(s) found, "
                                                        f"wanted {wanted}"))
            else:
                kept.append(item)
        return kept, dropped


def _count_params(what: str, model: str, conf: float, iou: float) -> tuple[Param, ...]:
    return (*_detector_params(model, conf, iou),
            Param("min", 1, f"fewest {what}s to keep the picture"),
            Param("max", None, f"most {what}s to keep the picture (None: no limit)"))


class FaceCount(_Count):
    name, what = "face-count", "face"
    help = "Keep pictures with min..max faces (YOLOv8 anime face detector)."
    params = _count_params("face", deepghs.DEFAULT_FACE, 0.25, 0.7)


class HeadCount(_Count):
    name, what = "head-count", "head"
    help = "Keep pictures with min..max heads (anime head detector)."
    params = _count_params("head", deepghs.DEFAULT_HEAD, 0.4, 0.7)


class PersonCount(_Count):
    name, what = "person-count", "person"
    help = "Keep pictures with min..max people (anime person detector)."
    params = _count_params("person", deepghs.DEFAULT_PERSON, 0.3, 0.5)


class _AreaShare(_Detecting):
    """Keep pictures whose detected area share is within min_share..max_share."""

    def share(self, det: Detections) -> float:
        raise NotImplementedError

    def apply(self, items: list[Item], context: Any) -> Outcome:
        kept, dropped = [], []
        for item, det in zip(items, self.detect(items, context), strict=True):
            share = self.share(det)
            item.meta[f"{self.what}_share"] = round(share, 4)
            if float(self.min_share) <= share <= float(self.max_share):
                kept.append(item)
            else:
                dropped.append(Dropped(item, self.name, f"{self.what} area share {share:.3f} "
                                       f"outside {self.min_share}..{self.max_share}"))
        return kept, dropped


class FaceRatio(_AreaShare):
    name, what = "face-ratio", "face"
    help = ("Keep pictures whose largest face covers min_share..max_share of the picture "
            "(drops tiny background faces and pictures with no face).")
    params = (*_detector_params(deepghs.DEFAULT_FACE, 0.25, 0.7),
              Param("min_share", 0.01, "smallest largest-face area / picture area"),
              Param("max_share", 1.0, "largest largest-face area / picture area"))

    def share(self, det: Detections) -> float:
        return max((b.area for b in det.boxes), default=0.0) / (det.width * det.height)


class HeadCover(_AreaShare):
    name, what = "head-cover", "head"
    help = ("Keep pictures whose heads together cover min_share..max_share of the picture "
            "(drops close-ups where heads fill the frame).")
    params = (*_detector_params(deepghs.DEFAULT_HEAD, 0.4, 0.7),
              Param("min_share", 0.0, "smallest head area / picture area"),
              Param("max_share", 0.5, "largest head area / picture area"))

    def share(self, det: Detections) -> float:
        return min(1.0, sum(b.area for b in det.boxes) / (det.width * det.height))


# --- crops -------------------------------------------------------------------------------


def crop_region(box: Box, scale: float, square: bool, width: int, height: int
                ) -> tuple[int, int, int, int]:
    """The box grown (or shrunk) by `scale` around its centre, squared on request, in
    whole pixels: moved inside the picture where it fits (it keeps its size), cut to the
    picture where it does not."""
    w, h = (box.x1 - box.x0) * scale, (box.y1 - box.y0) * scale
    if square:
        w = h = max(w, h)
    x0, x1 = _span((box.x0 + box.x1) / 2, w, width)
    y0, y1 = _span((box.y0 + box.y1) / 2, h, height)
    return x0, y0, x1, y1


def _span(centre: float, length: float, limit: int) -> tuple[int, int]:
    size = max(1, round(length))
    if size >= limit:
        return 0, limit
    start = min(max(0, round(centre - size / 2)), limit - size)
    return start, start + size


@dataclass(frozen=True)
class CropRule:
    what: str  # face, head, person, halfbody
    scale: float = 1.0
    square: bool = False
    best_only: bool = False  # one crop per picture: the highest score


def make_crops(items: list[Item], found: list[Detections], rule: CropRule, step: str,
               cache: Cache) -> tuple[list[Item], list[Dropped]]:
    """Crop items from detections; a parent with none is dropped."""
    crops: list[Item] = []
    dropped: list[Dropped] = []
    for parent, det in zip(items, found, strict=True):
        boxes = sorted(det.boxes, key=lambda b: -b.score)[:1 if rule.best_only else None]
        if not boxes:
            dropped.append(Dropped(parent, step, f"no {rule.what} found"))
            continue
        regions = [crop_region(b, rule.scale, rule.square, det.width, det.height)
                   for b in boxes]
        crops += _crop_items(parent, boxes, regions, rule, step, cache)
    return crops, dropped


def _crop_items(parent: Item, boxes: list[Box], regions: list[tuple[int, int, int, int]],
                rule: CropRule, step: str, cache: Cache) -> list[Item]:
    keys = [_key("crop", parent.key, r) for r in regions]
    paths = [cache.file_path(k, ".png") for k in keys]
    if not all(p.exists() for p in paths):
        from illudex.dataset.work import PNG_LEVEL

        image = open_upright(parent.file)
        for region, path in zip(regions, paths, strict=True):
            if not path.exists():
                part = cache.folder_for(path).with_name(f"{path.name}.{os.getpid()}.part")
                image.crop(region).save(part, "PNG", compress_level=PNG_LEVEL)
                os.replace(part, path)
    out = []
    for n, (box, region, key, path) in enumerate(zip(boxes, regions, keys, paths,
                                                     strict=True), start=1):
        provenance = {"parent": parent.digest, "parent_key": parent.key,
                      "parent_source": parent.source,
                      "parent_size": [parent.width, parent.height], "box": list(region),
                      "detection": box.to_json(), "kind": rule.what, "step": step}
        out.append(Item(
            source=parent.source, digest=key, key=key, file=str(path), image_id=None,
            name=f"{parent.name}_{rule.what}{n}", width=region[2] - region[0],
            height=region[3] - region[1], tags=list(parent.tags),
            categories=dict(parent.categories), rating=parent.rating,
            meta={**{k: v for k, v in parent.meta.items() if k != "detections"},
                  "crop": provenance}))
    return out


class _Crop(_Detecting):
    best_only: ClassVar[bool] = False

    def check(self) -> None:
        super().check()
        if float(self.scale) <= 0:
            raise DatasetError(f"step {self.name}: scale must be > 0")

    def rule(self) -> CropRule:
        return CropRule(self.what, float(self.scale), bool(self.square), self.best_only)

    def apply(self, items: list[Item], context: Any) -> Outcome:
        found = self.detect(items, context)
        return make_crops(items, found, self.rule(), self.name, context.cache)


def _crop_params(model: str, conf: float, iou: float, scale: float, square: bool
                 ) -> tuple[Param, ...]:
    return (*_detector_params(model, conf, iou),
            Param("scale", scale, "crop size around the box (1.0: the box itself)"),
            Param("square", square, "make the crop square (the longer side)"))


class FaceCrop(_Crop):
    name, what = "face-crop", "face"
    help = "One picture per face found: the box grown by `scale`, square on request."
    params = _crop_params(deepghs.DEFAULT_FACE, 0.25, 0.7, 1.0, False)


class HeadCrop(_Crop):
    name, what = "head-crop", "head"
    help = "One picture per head found: the box grown by `scale`, square on request."
    params = _crop_params(deepghs.DEFAULT_HEAD, 0.4, 0.7, 1.0, False)


class PersonSplit(_Crop):
    name, what = "person-split", "person"
    help = "One picture per person found (the parent itself is not kept)."
    params = _crop_params(deepghs.DEFAULT_PERSON, 0.3, 0.5, 1.0, False)


class ThreeStageSplit(_ModelStep):
    name = "three-stage-split"
    help = ("waifuc's three-stage split: each person, then within each person crop the "
            "best upper body and the best head (a square, head_scale times its longer "
            "side); every crop an item linked to its parent.")
    params = (Param("person_model", deepghs.DEFAULT_PERSON, "person detector"),
              Param("halfbody_model", deepghs.DEFAULT_HALFBODY, "upper-body detector"),
              Param("head_model", deepghs.DEFAULT_HEAD, "head detector"),
              Param("person_conf", 0.3, "person confidence (IoU 0.5)"),
              Param("halfbody_conf", 0.5, "upper-body confidence (IoU 0.7)"),
              Param("head_conf", 0.4, "head confidence (IoU 0.7)"),
              Param("head_scale", 1.5, "head crop side / the head box's longer side"),
              Param("keep", ["person", "halfbody", "head"], "which stages to export"))

    def check(self) -> None:
        unknown = set(_as_list(self, "keep")) - {"person", "halfbody", "head"}
        if unknown or not self.keep:
            raise DatasetError("step three-stage-split: keep lists person, halfbody, head")

    def apply(self, items: list[Item], context: Any) -> Outcome:
        cache = context.cache
        workers = decode_workers(context)
        people = DetectorUse(self.person_model, float(self.person_conf), 0.5, workers=workers,
                             kind="person")
        persons, dropped = make_crops(items, people.run(items, cache, context),
                                      CropRule("person"), self.name, cache)
        made = {"person": persons}
        for what, model, conf, rule in (
                ("halfbody", self.halfbody_model, self.halfbody_conf,
                 CropRule("halfbody", best_only=True)),
                ("head", self.head_model, self.head_conf,
                 CropRule("head", float(self.head_scale), square=True, best_only=True))):
            found = DetectorUse(model, float(conf), 0.7, workers=workers, kind=what
                                ).run(persons, cache, context)
            # A person without an upper body or a head is still a person: not dropped.
            made[what], _ = make_crops(persons, found, rule, self.name, cache)
        return _family_order(made, set(self.keep)), dropped


def _family_order(made: dict[str, list[Item]], keep: set[str]) -> list[Item]:
    """Each person, then its upper body and its head; then the next person."""
    children: dict[str, list[Item]] = {}
    for what in ("halfbody", "head"):
        for crop in made[what]:
            children.setdefault(crop.meta["crop"]["parent"], []).append(crop)
    out: list[Item] = []

    def walk(item: Item) -> None:
        if item.meta["crop"]["kind"] in keep:
            out.append(item)
        for child in children.get(item.digest, []):
            walk(child)

    for person in made["person"]:
        walk(person)
    return out


# --- picture class -----------------------------------------------------------------------


class ClassFilter(_ModelStep):
    name = "class-filter"
    help = ("Keep pictures by a classifier's labels: drop those where a `drop` label "
            "scores >= threshold, and (with `keep`) those whose best label is not in it.")
    params = (Param("model", deepghs.DEFAULT_CLASSIFY, "classifier name, folder or file"),
              Param("keep", [], "labels allowed as the best label ([]: any)"),
              Param("drop", ["comic", "3d", "not_painting"], "labels that drop a picture"),
              Param("threshold", 0.5, "score at which a drop label drops"))

    def check(self) -> None:
        _as_list(self, "keep")
        _as_list(self, "drop")

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
        recipe = _key("class", _model_id(self.model))[:16]
        workers = decode_workers(context)

        def compute(missing: list[Item]) -> Iterator[dict[str, float]]:
            from illudex.analysers.classify import Classifier

            classifier = Classifier.load(self.model)
            for batch, _ in prepared_batches(missing, classifier.prep, workers):
                yield from classifier.scores_prepared(batch)

        return _cached(context.cache, items, lambda i: f"cls-{i.key}-{recipe}", compute,
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


class MinQuality(_ModelStep):
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
        recipe = _key("quality", _model_id(self.model))[:16]
        workers = decode_workers(context)

        def compute(missing: list[Item]) -> Iterator[dict[str, Any]]:
            from illudex.analysers.quality import QualityScorer
            from illudex.analysers.qualityrun import records

            scorer = QualityScorer.load(self.model)
            for batch, _ in prepared_batches(missing, scorer.classifier.prep, workers):
                yield from records(scorer, batch)

        return _cached(context.cache, items, lambda i: f"qual-{i.key}-{recipe}", compute,
                       Stored.of(context, "quality", self.model))


# --- CCIP: the one main character --------------------------------------------------------


class CharacterFilter(_ModelStep):
    name = "ccip"
    help = ("Keep the pictures of the one main character (CCIP): the largest cluster "
            "among the first `first_n` pictures (or the `references` pictures) is the "
            "character; every picture is compared with it, others are dropped with their "
            "difference in the report.")
    params = (Param("model", deepghs.DEFAULT_CCIP, "CCIP name, folder or model_feat.onnx"),
              Param("references", [], "pictures of the character (paths); [] to find it"),
              Param("first_n", 15, "pictures the main character is found among"),
              Param("threshold", None, "same character at difference <= this (None: the "
                                       "model's metrics.json)"),
              Param("same_ratio", 0.5, "share of the character's pictures a picture must "
                                       "match to be kept"))

    def check(self) -> None:
        _as_list(self, "references")

    def apply(self, items: list[Item], context: Any) -> Outcome:
        if not items:
            return items, []
        import numpy as np

        from illudex.analysers.ccip import CCIP

        model = CCIP.load(self.model)
        threshold = model.threshold if self.threshold is None else float(self.threshold)
        feats = np.asarray(self.features(items, context, model), np.float32)
        main, note = self.main_character(model, feats, threshold)
        if main is None:
            for item in items:
                item.meta["ccip"] = {"note": note}
            return items, []
        return self.compare(items, feats, main, model, threshold, note)

    def features(self, items: list[Item], context: Any, model: Any) -> list[list[float]]:
        recipe = _key("ccip", _model_id(self.model))[:16]

        def compute(missing: list[Item]) -> Iterator[list[float]]:
            for batch, _ in prepared_batches(missing, model.prep, decode_workers(context)):
                yield from model.features_prepared(batch).tolist()

        return _cached(context.cache, items, lambda i: f"ccip-{i.key}-{recipe}", compute)

    def main_character(self, model: Any, feats: np.ndarray, threshold: float
                       ) -> tuple[np.ndarray | None, str]:
        """The features of the main character's pictures, and how they were chosen."""
        if self.references:
            refs = [open_upright(os.path.expanduser(p)) for p in self.references]
            return model.features(refs), f"{len(refs)} reference picture(s)"
        pool = feats[: int(self.first_n)]
        if len(pool) < 2:
            return None, "one picture only: nothing to compare, kept"
        labels = main_cluster(model.differences(pool), threshold)
        if labels is None:
            return None, (f"no two of the first {len(pool)} pictures show one character "
                          f"(threshold {threshold:.3f}): kept all, undecided")
        note = f"main character: {len(labels)} of the first {len(pool)} pictures"
        if len(pool) < int(self.first_n):
            note += f" (only {len(pool)} pictures: fewer than first_n = {self.first_n})"
        return pool[labels], note

    def compare(self, items: list[Item], feats: np.ndarray, main: np.ndarray, model: Any,
                threshold: float, note: str) -> Outcome:
        import numpy as np

        kept, dropped = [], []
        for start in range(0, len(items), 256):  # the metric is N x N: bounded chunks
            chunk = feats[start:start + 256]
            diffs = model.differences(np.concatenate([main, chunk]))[len(main):, :len(main)]
            for item, row in zip(items[start:start + 256], diffs, strict=True):
                share = float(np.mean(row <= threshold))
                diff = float(np.median(row))
                item.meta["ccip"] = {"difference": round(diff, 4), "same_share": share,
                                     "threshold": threshold, "note": note}
                if share >= float(self.same_ratio):
                    kept.append(item)
                else:
                    dropped.append(Dropped(item, self.name, (
                        f"another character: difference {diff:.3f} to the main one "
                        f"(same at <= {threshold:.3f}; matches {share:.0%} of its pictures)")))
        return kept, dropped


def main_cluster(differences: np.ndarray, threshold: float) -> np.ndarray | None:
    """Indexes of the largest DBSCAN cluster (eps = threshold, min_samples = 2, as
    imgutils' ccip_clustering 'dbscan' mode), or None when every picture is alone."""
    import numpy as np
    from sklearn.cluster import DBSCAN

    d = np.clip((differences + differences.T) / 2, 0, None)
    np.fill_diagonal(d, 0)
    labels = DBSCAN(eps=threshold, min_samples=2, metric="precomputed").fit(d).labels_
    found = labels[labels >= 0]
    if not found.size:
        return None
    return np.flatnonzero(labels == np.bincount(found).argmax())


# --- upscaling ---------------------------------------------------------------------------


class Upscale(_ModelStep):
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
        key = _key("upscale", item.key, _model_id(self.model), self.min_size, self.tile,
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
        from illudex.dataset.work import PNG_LEVEL

        image = open_upright(item.file)
        for _ in range(int(self.max_passes)):
            if min(image.size) >= int(self.min_size):
                break
            image = upscaler.upscale(image, int(self.tile), int(self.overlap))
        scale = int(self.min_size) / min(image.size)
        if scale < 1:
            image = resized(image, (max(1, round(image.width * scale)),
                                    max(1, round(image.height * scale))))
        part = cache.folder_for(path).with_name(f"{path.name}.{os.getpid()}.part")
        image.save(part, "PNG", compress_level=PNG_LEVEL)
        os.replace(part, path)


class _Lazy:
    """The upscaler, loaded only when a picture is not in the cache."""

    def __init__(self, model: str) -> None:
        self.model, self.loaded = model, None

    def get(self) -> Any:
        if self.loaded is None:
            from illudex.analysers.upscale import Upscaler

            self.loaded = Upscaler.load(self.model)
        return self.loaded


STEPS: tuple[type[ItemStep], ...] = (
    FaceCount, HeadCount, PersonCount, FaceRatio, HeadCover, FaceCrop, HeadCrop, PersonSplit,
    ThreeStageSplit, ClassFilter, MonochromeModel, MinQuality, CharacterFilter, Upscale)
