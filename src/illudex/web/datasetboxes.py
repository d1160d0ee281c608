"""What the dataset preview draws over a picture: the boxes the model steps found and,
for a crop, where in its parent it was cut from, so a user sees why a picture was split
or dropped.

Boxes are fractions of the picture shown (0..1, left, top, right, bottom), so they fit
the thumbnail or the cached picture at any size. Detections are in the pixels of the
item as the detector saw it; a dropped item stops there, and a kept one is only scaled
by later steps (a later crop or pad would shift them: those pictures are crops, whose
boxes come from their provenance instead).
"""

from __future__ import annotations

from typing import Any

from illudex.dataset.cache import Cache
from illudex.dataset.items import Item
from illudex.errors import NotFound
from illudex.library import Library


def _fraction(box: list[Any], origin: tuple[float, float], size: tuple[float, float]
              ) -> list[float]:
    (ox, oy), (w, h) = origin, size
    return [round(min(1.0, max(0.0, v)), 4) for v in (
        (box[0] - ox) / w, (box[1] - oy) / h, (box[2] - ox) / w, (box[3] - oy) / h)]


def _label(box: list[Any], kind: str) -> str:
    label = str(box[4]) if len(box) > 4 else kind
    return f"{label} {float(box[5]):.2f}" if len(box) > 5 else label


def item_boxes(item: Item) -> list[dict[str, Any]]:
    """The detections on the picture shown for `item` (its own pixels)."""
    crop = item.meta.get("crop")
    if crop:  # a crop shows the detection it was cut around, inside it
        x0, y0, x1, y1 = crop["box"]
        det = crop.get("detection")
        if not det or x1 <= x0 or y1 <= y0:
            return []
        return [{"kind": crop.get("kind", "detection"), "label": _label(det, crop["kind"]),
                 "box": _fraction(det, (x0, y0), (x1 - x0, y1 - y0))}]
    if item.width <= 0 or item.height <= 0:
        return []
    return [{"kind": kind, "label": _label(box, kind),
             "box": _fraction(box, (0, 0), (item.width, item.height))}
            for kind, boxes in sorted(item.meta.get("detections", {}).items())
            for box in boxes]


def parent_view(item: Item, lib: Library, cache: Cache) -> dict[str, Any] | None:
    """For a crop: its parent's picture, the crop's region and the detection in it."""
    crop = item.meta.get("crop")
    size = crop.get("parent_size") if crop else None
    if not crop or not size or min(size) <= 0:
        return None
    src = _parent_src(crop, lib, cache)
    if src is None:
        return None
    boxes = [{"kind": "crop", "label": f"{crop['kind']} crop",
              "box": _fraction(crop["box"], (0, 0), tuple(size))}]
    det = crop.get("detection")
    if det:
        boxes.append({"kind": crop["kind"], "label": _label(det, crop["kind"]),
                      "box": _fraction(det, (0, 0), tuple(size))})
    return {"src": src, "width": size[0], "height": size[1], "boxes": boxes}


def _parent_src(crop: dict[str, Any], lib: Library, cache: Cache) -> str | None:
    """The catalog thumbnail of an unchanged catalog parent, else its cached picture."""
    if crop.get("parent_key") == crop.get("parent"):
        try:
            row = lib.image_at(crop["parent_source"])
        except NotFound:
            row = None
        if row is not None and row.digest == crop["parent"]:
            return f"/api/images/{row.id}/thumb?v={row.digest[:12]}"
    path = cache.file_path(str(crop.get("parent_key")), ".png")
    return f"/api/datasets/cache/{path.name}" if path.is_file() else None
