"""YOLOv8 detectors (faces, heads, people, upper bodies): the deepghs ONNX exports.

Interface: input `images`, float32 `[N, 3, S, S]` RGB 0..1; output `[N, 4 + classes,
anchors]`: box centre x, y, width, height in input pixels, then one score per class
(ultralytics' export, no NMS inside). Class names are in the ONNX metadata (`names`,
"{0: 'face'}"), the input size in `imgsz` when the input shape is dynamic.

Pre-processing: `letterbox` (ultralytics' own: aspect kept, scaled to fit, grey 114
padding centred) by default; `stretch` is what imgutils does (a plain resize to S x S).
Post-processing follows imgutils (generic/yolo.py): keep anchors whose best class score
exceeds the confidence, NMS on that score with its +1-pixel areas, map boxes back.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.modelprep import DetectPrep, Placement, letterbox, stretch
from illudex.analysers.onnxfiles import model_files
from illudex.models.errors import ModelMismatch
from illudex.models.registry import ModelSpec
from illudex.models.sessions import get_session

DEFAULT_SIZE = 640
RESIZE_MODES = ("letterbox", "stretch")


@dataclass(frozen=True)
class Box:
    """One detection in the picture's own pixels (x1, y1 exclusive)."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str
    score: float

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)

    def to_json(self) -> list[object]:
        return [round(self.x0, 1), round(self.y0, 1), round(self.x1, 1), round(self.y1, 1),
                self.label, round(self.score, 4)]

    @classmethod
    def from_json(cls, row: Sequence[object]) -> Box:
        x0, y0, x1, y1, label, score = row
        return cls(float(x0), float(y0), float(x1), float(y1), str(label),  # type: ignore[arg-type]
                   float(score))  # type: ignore[arg-type]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy NMS, best score first, areas counted +1 pixel (imgutils' `_yolo_nms`)."""
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= iou_threshold]
    return keep


def decode(output: np.ndarray, placement: Placement, labels: Sequence[str],
           conf: float, iou: float) -> list[Box]:
    """One picture's `[4 + classes, anchors]` → boxes in its own pixels, best first."""
    best = output[4:].max(axis=0)
    chosen = output[:, best > conf].T
    if not chosen.size:
        return []
    cx, cy, bw, bh = chosen[:, 0], chosen[:, 1], chosen[:, 2], chosen[:, 3]
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    scores = chosen[:, 4:]
    out = []
    for i in nms(xyxy, scores.max(axis=1), iou):
        x0, y0, x1, y1 = _unplace(xyxy[i], placement)
        cls = int(scores[i].argmax())
        out.append(Box(x0, y0, x1, y1, labels[cls] if cls < len(labels) else str(cls),
                       float(scores[i][cls])))
    return out


def _unplace(box: np.ndarray, p: Placement) -> tuple[float, float, float, float]:
    x0 = float(np.clip((box[0] - p.pad_x) / p.scale_x, 0, p.width))
    y0 = float(np.clip((box[1] - p.pad_y) / p.scale_y, 0, p.height))
    x1 = float(np.clip((box[2] - p.pad_x) / p.scale_x, 0, p.width))
    y1 = float(np.clip((box[3] - p.pad_y) / p.scale_y, 0, p.height))
    return x0, y0, x1, y1


def parse_names(text: str) -> list[str]:
    """ultralytics' metadata `names` ("{0: 'face', 1: 'head'}") → labels in index order;
    literals only (never eval)."""
    try:
        names = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    return [str(n) for n in names] if isinstance(names, list | tuple) else []


class Detector:
    """A loaded YOLO detector: `detect(images)` → boxes per picture."""

    def __init__(self, spec: ModelSpec, path: Path, *, device: str = "auto",
                 resize: str = "letterbox") -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize is one of {', '.join(RESIZE_MODES)}, not {resize!r}")
        self.spec, self.name, self.resize = spec, spec.name, resize
        self.session = get_session(path, device=device)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        meta = self.session.get_modelmeta().custom_metadata_map
        self.labels = parse_names(meta.get("names", ""))
        self.size = _input_size(inp.shape, meta.get("imgsz"))
        batch = inp.shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.output_name = self.session.get_outputs()[0].name

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], *, device: str = "auto",
             resize: str = "letterbox", allow_download: bool = True) -> Detector:
        spec, files = model_files(name_or_path, "detector", allow_download=allow_download)
        return cls(spec, files[0], device=device, resize=resize)

    @property
    def prep(self) -> DetectPrep:
        """The pre-processing, picklable for decode workers."""
        return DetectPrep(self.size, self.resize)

    def detect(self, images: Sequence[Image.Image], conf: float = 0.25, iou: float = 0.7
               ) -> list[list[Box]]:
        return self.detect_prepared([self.prep(im) for im in images], conf, iou)

    def detect_prepared(self, prepared: Sequence[tuple[np.ndarray, Placement]],
                        conf: float = 0.25, iou: float = 0.7) -> list[list[Box]]:
        outputs = self.run(np.stack([p[0] for p in prepared]))
        return [decode(out, placement, self.labels, conf, iou)
                for out, (_, placement) in zip(outputs, prepared, strict=True)]

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 NHWC RGB → the raw `[N, 4 + classes, anchors]` output."""
        x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        step = self.fixed_batch or len(x)
        outs = [np.asarray(self.session.run([self.output_name],
                                            {self.input_name: x[i:i + step]})[0])
                for i in range(0, len(x), step)]
        out = np.concatenate(outs)
        if out.ndim != 3 or out.shape[1] < 5:
            raise ModelMismatch(f"detector {self.name!r}: output shape {out.shape} is not "
                                "[N, 4 + classes, anchors] (a YOLOv8 export without NMS)")
        return out


def _input_size(shape: Sequence[object], imgsz: str | None) -> tuple[int, int]:
    h, w = (shape[2], shape[3]) if len(shape) == 4 else (None, None)
    if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
        return w, h
    if imgsz:
        try:
            ih, iw = json.loads(imgsz)  # ultralytics writes [h, w]
            return int(iw), int(ih)
        except (ValueError, TypeError):
            pass
    return DEFAULT_SIZE, DEFAULT_SIZE


__all__ = ["Box", "Detector", "Placement", "decode", "letterbox", "nms", "parse_names",
           "stretch"]
