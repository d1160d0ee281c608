"""Model steps that detect: keep pictures by how many faces, heads or people they show,
or by how much of the picture they cover. `DetectorUse` (one detector, cached) is also
what the crop steps detect with; the boxes go into `meta["detections"]`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Dropped, Item
from illudex.dataset.modelrun import (
    ModelStep,
    ModelUse,
    Outcome,
    Stored,
    cached_values,
    decode_workers,
    load_analyser,
    model_id,
    model_outputs,
    recipe_key,
    run_method,
)
from illudex.dataset.step import ItemStep, Param
from illudex.models import deepghs

if TYPE_CHECKING:
    from illudex.analysers.detect import Box
    from illudex.dataset.cache import Cache


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

        recipe = recipe_key("detect", model_id(self.model), self.conf, self.iou, self.resize)
        stored = Stored.of(context, self.kind, self.model, self.conf, self.iou, self.resize)
        found = cached_values(cache, items, lambda i: f"det-{i.key}-{recipe[:16]}",
                              partial(self._compute, context=context), stored)
        return [Detections(f["size"][0], f["size"][1], [Box.from_json(b) for b in f["boxes"]])
                for f in found]

    def _compute(self, items: list[Item], context: Any) -> Iterator[dict[str, Any]]:
        from illudex.analysers.detect import Detector

        detector = Detector.load(self.model, resize=self.resize)
        use = ModelUse(partial(load_analyser, "illudex.analysers.detect:Detector",
                               str(self.model), resize=self.resize),
                       partial(run_method, "detect_prepared", (self.conf, self.iou)))
        for found, size in model_outputs(items, detector, detector.prep, use,
                                             self.workers, context):
            yield {"size": list(size), "boxes": [b.to_json() for b in found]}


def detector_params(model: str, conf: float, iou: float) -> tuple[Param, ...]:
    return (Param("model", model, "detector: registry name, model folder or .onnx file"),
            Param("conf", conf, "detection confidence threshold"),
            Param("iou", iou, "NMS IoU threshold"),
            Param("resize", "letterbox", "letterbox (ultralytics) | stretch (imgutils)"))


class DetectingStep(ModelStep):
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


# --- counting and area filters ---------------------------------------------------------


class _Count(DetectingStep):
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
    return (*detector_params(model, conf, iou),
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


class _AreaShare(DetectingStep):
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
    params = (*detector_params(deepghs.DEFAULT_FACE, 0.25, 0.7),
              Param("min_share", 0.01, "smallest largest-face area / picture area"),
              Param("max_share", 1.0, "largest largest-face area / picture area"))

    def share(self, det: Detections) -> float:
        return max((b.area for b in det.boxes), default=0.0) / (det.width * det.height)


class HeadCover(_AreaShare):
    name, what = "head-cover", "head"
    help = ("Keep pictures whose heads together cover min_share..max_share of the picture "
            "(drops close-ups where heads fill the frame).")
    params = (*detector_params(deepghs.DEFAULT_HEAD, 0.4, 0.7),
              Param("min_share", 0.0, "smallest head area / picture area"),
              Param("max_share", 0.5, "largest head area / picture area"))

    def share(self, det: Detections) -> float:
        return min(1.0, sum(b.area for b in det.boxes) / (det.width * det.height))


STEPS: tuple[type[ItemStep], ...] = (FaceCount, HeadCount, PersonCount, FaceRatio, HeadCover)
