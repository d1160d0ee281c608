#!/usr/bin/env python3
"""Model steps against the model-only limit, one run: pictures/s of `face-count` (decode
workers → letterbox → batched YOLO → NMS → cache) against the same ONNX session fed
pre-decoded, pre-letterboxed batches (the most the step could reach).

    .venv/bin/python bench/model_steps.py                       # 64 pictures, built model
    .venv/bin/python bench/model_steps.py --model ~/face_detect_v1.4_s/model.onnx --n 200

Without --model, a random-weight convolutional detector with the YOLOv8 export layout
(input 640², strided 3x3 convolutions 3→64→128→256→512→1024: 7.7 G multiply-adds, between
YOLOv8n (4.4) and YOLOv8s (14.3), the default face model's size; a 1x1 head to 4 + 1
channels, output [N, 5, 8400]) stands in: what it computes is noise, what it costs is
the point.
Its threshold is set so it finds nothing, as the cost of NMS on real detections is small.
The pictures are generated (1600 x 1200 JPEG, quality 90) and scanned into a fresh library
first; the scan is not timed. Prints pictures/s of each side and the ratio (goal >= 0.9),
the model alone measured before and after the step (a busy machine drifts), and CPU
seconds a picture of each (steadier than wall time where other work shares the cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from illudex.analysers.detect import Detector  # noqa: E402
from illudex.analysers.modelprep import open_upright  # noqa: E402
from illudex.dataset.spec import parse_spec  # noqa: E402
from illudex.library import Library  # noqa: E402


def random_detector(path: Path, size: int = 640) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, x, cin = [], [], "images", 3
    for n, cout in enumerate((64, 128, 256, 512, 1024)):
        w = (rng.standard_normal((cout, cin, 3, 3)) * 0.1).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{n}"))
        nodes.append(helper.make_node("Conv", [x, f"w{n}"], [f"c{n}"], strides=[2, 2],
                                      pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{n}"], [f"r{n}"]))
        x, cin = f"r{n}", cout
    # 640 / 32 = 20: 400 cells; the head repeats to 8400 anchors as YOLOv8's three scales.
    inits.append(numpy_helper.from_array(
        (rng.standard_normal((5, cin, 1, 1)) * 0.01).astype(np.float32), "head"))
    inits.append(numpy_helper.from_array(np.array([0, 5, -1], np.int64), "shape"))
    inits.append(numpy_helper.from_array(np.array([1, 1, 21], np.int64), "reps"))
    nodes += [helper.make_node("Conv", [x, "head"], ["h"]),
              helper.make_node("Reshape", ["h", "shape"], ["flat"]),
              helper.make_node("Tile", ["flat", "reps"], ["output0"])]
    graph = helper.make_graph(
        nodes, "random_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["n", 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["n", 5, "a"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    entry = model.metadata_props.add()
    entry.key, entry.value = "names", "{0: 'face'}"
    onnx.save(model, str(path))
    return path


def pictures(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (120, 160, 3), np.uint8)
    for i in range(n):
        tile = np.roll(base, i * 7, axis=1)
        Image.fromarray(tile).resize((1600, 1200), Image.Resampling.BILINEAR).save(
            folder / f"p{i:04d}.jpg", quality=90)


def cpu_seconds() -> float:
    """This process and its finished children (decode workers are joined at the end)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def model_only(model: str, files: list[Path], batch: int = 8) -> tuple[float, float]:
    """(pictures/s, CPU s a picture) of the session alone on prepared batches."""
    detector = Detector.load(model)
    prepared = [detector.prep(open_upright(str(f))) for f in files]
    detector.detect_prepared(prepared[:batch], conf=1.0)  # warm-up
    start, cpu = time.perf_counter(), cpu_seconds()
    for i in range(0, len(prepared), batch):
        detector.detect_prepared(prepared[i:i + batch], conf=1.0)
    return len(files) / (time.perf_counter() - start), (cpu_seconds() - cpu) / len(files)


def step(lib: Library, source: Path, cache: Path, model: str, workers: int
         ) -> tuple[float, float]:
    """The step alone (decode workers, model, NMS, cache writes), on the catalogued
    items, as the pipeline calls it; the export around it is not counted."""
    from illudex.dataset.cache import Cache
    from illudex.dataset.pipeline import Context
    from illudex.dataset.registry import make_step
    from illudex.dataset.sources import load_items

    spec = parse_spec({"source": {"paths": [str(source)]},
                       "export": {"format": "files", "dir": str(cache / "out"), "name": "x"}})
    items = load_items(lib, spec.source, None, [])
    counting = make_step("face-count", {"model": model, "conf": 1.0, "min": 0})
    start, cpu = time.perf_counter(), cpu_seconds()
    kept, _ = counting.run(items, Context(lib, Cache(cache), workers))
    seconds = time.perf_counter() - start
    assert len(kept) == len(items)
    return len(items) / seconds, (cpu_seconds() - cpu) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--model", default=None, help="a detector .onnx (default: built)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = args.model or str(random_detector(root / "detector.onnx"))
        pictures(root / "art", args.n)
        with Library.open(root / "lib") as lib:
            lib.workers = args.workers
            lib.scan([str(root / "art")])
            files = sorted((root / "art").iterdir())
            before = model_only(model, files)  # measured before and after the step:
            ours = step(lib, root / "art", root / "cache", model, args.workers)
            after = model_only(model, files)  # a loaded machine drifts
    limit = (before[0] + after[0]) / 2
    print(f"model only (pre-decoded batches of 8): {before[0]:.2f} / {after[0]:.2f} "
          f"pictures/s before / after, CPU {before[1]:.3f} / {after[1]:.3f} s a picture")
    print(f"face-count step (decode workers {max(0, min(4, args.workers - 1))}): "
          f"{ours[0]:.2f} pictures/s, {ours[0] / limit:.0%} of the limit; "
          f"CPU {ours[1]:.3f} s a picture (decode included)")


if __name__ == "__main__":
    main()
