#!/usr/bin/env python3
"""What each stage of a 10 M-picture run costs per picture, on this machine's CPU
(docs/scale.md): CPU ms a picture (time.process_time, median of --repeat) for

  read + hash      the file's bytes and their BLAKE2b digest
  scan worker      `scan.worker.process_bytes`: hash, decode, duplicate features, quality
  tagger prep      decode + the WD tagger's 448 px preprocessing (`WDPreprocess`)
  tagger infer     a ViT-B/16 at 448 px (WD v3's shape, random weights: the real cost),
                   batch 1, ONNX Runtime on every core (wall and CPU)

on bench/tagger_speed.py's generated 1-1.5 MP illustrations (JPEG, a quarter PNG with
alpha: Danbooru-like sizes). With --ray, also the wall time of a scan of those files on
the local engine and on a local Ray instance (`--engine ray`), to show Ray's overhead.

    .venv/bin/python bench/scale_stages.py [--files 16] [--repeat 3] [--infer 4] [--ray]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tagger_speed  # the model and pictures, cached under .cache/bench

from illudex.imageio import decode_file
from illudex.library import Library, scan_analysers
from illudex.scan.worker import WorkerConfig, process_bytes


def cpu_ms(fn: Callable[[Any], object], items: list[Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.process_time()
        for item in items:
            fn(item)
        runs.append((time.process_time() - t) * 1000 / len(items))
    return statistics.median(runs)


def stages(files: list[Path], repeat: int, n_infer: int) -> None:
    import cv2

    cv2.setNumThreads(1)  # as in the scan workers
    data = [(p, p.read_bytes()) for p in files]
    config = WorkerConfig(analysers=scan_analysers())
    mb = statistics.mean(len(d) for _, d in data) / 1e6
    print(f"{len(files)} pictures, {mb:.2f} MB each on average; CPU ms a picture "
          f"(median of {repeat})")
    read = cpu_ms(lambda p: hashlib.blake2b(p.read_bytes()), files, repeat)
    print(f"  read + hash     {read:8.1f}")
    worker = cpu_ms(lambda d: process_bytes((str(d[0]), len(d[1]), 0), d[1], config),
                    data, repeat)
    print(f"  scan worker     {worker:8.1f}")

    from illudex.analysers.taggers import load_tagger

    tagger = load_tagger(str(tagger_speed.model_folder()), device="cpu")
    prep = tagger.preprocess

    def prepare(d: tuple[Path, bytes]) -> Any:
        decoded = decode_file(io.BytesIO(d[1]), str(d[0]), side=prep.decode_side)
        return prep(decoded.image)

    print(f"  tagger prep     {cpu_ms(prepare, data, repeat):8.1f}")
    arrays = [prepare(d)[None] for d in data[:n_infer]]
    tagger.predict(arrays[0])  # the first run builds ONNX Runtime's kernels
    t, c = time.perf_counter(), time.process_time()
    for a in arrays:
        tagger.predict(a)
    wall = (time.perf_counter() - t) * 1000 / len(arrays)
    cpu = (time.process_time() - c) * 1000 / len(arrays)
    print(f"  tagger infer    {cpu:8.0f}   (wall {wall:.0f} ms, batch 1, {len(arrays)} pictures)")


def ray_overhead(files: list[Path]) -> None:
    import ray

    from illudex.engines.rayengine import RayEngine

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "art"
        folder.mkdir()
        for p in files:
            (folder / p.name).write_bytes(p.read_bytes())
        for engine in ("local", "ray"):
            with Library.open(Path(tmp) / engine) as lib:
                if engine == "ray":
                    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                    lib.limits.engine = RayEngine.connect()
                t = time.perf_counter()
                report = lib.scan([folder])
                print(f"  scan on {engine:<5}  {time.perf_counter() - t:6.1f} s wall for "
                      f"{report.added} pictures")
        ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--infer", type=int, default=4)
    ap.add_argument("--ray", action="store_true")
    a = ap.parse_args()
    files = tagger_speed.pictures(a.files, "generated")
    stages(files, a.repeat, a.infer)
    if a.ray:
        ray_overhead(files)


if __name__ == "__main__":
    main()
