"""Model steps that crop: one picture per face, head or person found, and waifuc's
three-stage split (person, then its upper body and head).

A crop is a new item: its own pixels (a PNG in the cache) and key, its parent's tags
and rating (until a later `tag` step with force = true re-tags it), and its provenance
in `meta["crop"]`: the parent's digest, key and source, the box in the parent's pixels
and the detection it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from illudex.dataset.detectsteps import DetectingStep, Detections, DetectorUse, detector_params
from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.modelrun import (
    ModelStep,
    Outcome,
    decode_workers,
    list_param,
    open_upright,
    recipe_key,
)
from illudex.dataset.step import ItemStep, Param
from illudex.models import deepghs

if TYPE_CHECKING:
    from illudex.analysers.detect import Box
    from illudex.dataset.cache import Cache


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
    keys = [recipe_key("crop", parent.key, r) for r in regions]
    paths = [cache.file_path(k, ".png") for k in keys]
    if not all(p.exists() for p in paths):
        image = open_upright(parent.file)
        for region, path in zip(regions, paths, strict=True):
            if not path.exists():
                cache.save_picture(image.crop(region), path)
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


class _Crop(DetectingStep):
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
    return (*detector_params(model, conf, iou),
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


class ThreeStageSplit(ModelStep):
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
        unknown = set(list_param(self, "keep")) - {"person", "halfbody", "head"}
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


STEPS: tuple[type[ItemStep], ...] = (FaceCrop, HeadCrop, PersonSplit, ThreeStageSplit)
