"""Resident memory of a model pool: before a model loads, while it is loaded (after one
picture), and after the pool releases it (what `--model-idle` gives back).

The model is a tagger-shaped ONNX file built here with random weights (a 4096-wide hidden
layer and 6000 tags: ~100 MB of float32 weights, about a quarter of a real WD tagger), so
the bench needs no download. Each run is a fresh process.

    .venv/bin/python bench/model_memory.py            # hidden 4096, tags 6000
    .venv/bin/python bench/model_memory.py --hidden 8192
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from illudex.models.pool import ModelPool, resident_bytes

MB = 1024 * 1024


def build(folder: Path, hidden: int, tags: int) -> Path:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(np.array([255.0], np.float32), "scale"),
             numpy_helper.from_array(rng.standard_normal((3, hidden), np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((hidden, tags), np.float32) * 0.01,
                                     "w2"),
             numpy_helper.from_array(np.zeros(tags, np.float32), "b2")]
    nodes = [helper.make_node("Div", ["input", "scale"], ["unit"]),
             helper.make_node("ReduceMean", ["unit"], ["means"], axes=[1, 2], keepdims=0),
             helper.make_node("MatMul", ["means", "w1"], ["pre"]),
             helper.make_node("Relu", ["pre"], ["features"]),
             helper.make_node("MatMul", ["features", "w2"], ["pre_logits"]),
             helper.make_node("Add", ["pre_logits", "b2"], ["logits"]),
             helper.make_node("Sigmoid", ["logits"], ["predictions_sigmoid"])]
    graph = helper.make_graph(
        nodes, "bench_tagger",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 448, 448, 3])],
        [helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT,
                                       ["batch", tags])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    with open(folder / "selected_tags.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["tag_id", "name", "category", "count"])
        writer.writerows([i, f"tag_{i}", 9 if i < 4 else 0, 1] for i in range(tags))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=4096)
    parser.add_argument("--tags", type=int, default=6000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = build(Path(tmp) / "bench-tagger", args.hidden, args.tags)
        weights = (3 * args.hidden + args.hidden * args.tags + args.tags) * 4
        picture = Image.new("RGB", (640, 480), (200, 120, 40))
        clock = [0.0]
        pool = ModelPool(idle_s=60, clock=lambda: clock[0])
        import illudex.analysers.wd_tagger  # noqa: F401  (libraries count as "before")

        gc.collect()
        before = resident_bytes()
        started = time.perf_counter()
        tagger = pool.tagger(str(folder), device="cpu")
        tagger.tag([picture])
        load_s = time.perf_counter() - started
        loaded = resident_bytes()
        [entry] = pool.loaded()
        del tagger
        clock[0] += 61
        released = pool.release_idle()
        after = resident_bytes()
        print(json.dumps({
            "weights_mb": round(weights / MB, 1),
            "rss_before_mb": round(before / MB, 1), "rss_loaded_mb": round(loaded / MB, 1),
            "rss_after_release_mb": round(after / MB, 1),
            "given_back_mb": round((loaded - after) / MB, 1),
            "pool_memory_bytes_mb": round(entry.memory_bytes / MB, 1),
            "load_and_first_picture_s": round(load_s, 2), "released": len(released),
        }))


if __name__ == "__main__":
    main()
