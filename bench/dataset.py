#!/usr/bin/env python3
"""Dataset pipeline benchmark: illudex against a plain single-process PIL loop (waifuc's
execution model: one picture at a time, decode, each action, save), same pictures, same
steps, one run:

    mode-convert → align-min-size 512 → pad 512 → textual-inversion export

    .venv/bin/python bench/dataset.py                 # 2 000 corpus pictures, 2 workers
    .venv/bin/python bench/dataset.py --n 300 --workers 2 --loop-png-level 1

The pictures (mixed1, then mixed2, sorted) are hard-linked into a bench folder and
scanned into a fresh library first: illudex's pipeline starts from a catalogued
collection (that is its premise), so the scan is timed apart and reported, not counted.
Then: illudex cold (nothing cached), the loop, and illudex again with nothing changed.
Printed: seconds, pictures/s, illudex/loop speed ratio, cold/re-run ratio, and the CPU
seconds each side used (this process and every process under it, sampled with psutil):
on a machine other work keeps busy, wall-clock ratios move with that work, CPU seconds
per picture do not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from illudex.dataset.pipeline import build  # noqa: E402
from illudex.dataset.spec import parse_spec  # noqa: E402
from illudex.library import Library  # noqa: E402
from illudex.picturefiles import is_image_name  # noqa: E402

CORPORA = [Path("/work/corpora/mixed1/images"), Path("/work/corpora/mixed2/images")]
SIZE = 512


def corpus(n: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    names = [p for c in CORPORA for p in sorted(c.iterdir()) if is_image_name(p.name)][:n]
    out = []
    for n_, src in enumerate(names):
        dst = folder / f"{n_:05}_{src.name}"  # the two corpora share names
        if not dst.exists():
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
        out.append(dst)
    return out


def loop(files: list[Path], out: Path, png_level: int) -> float:
    """waifuc's way: one process, one picture at a time, each action on a PIL image."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in files:
        with Image.open(path) as im:
            image = _mode_convert(im)
        w, h = image.size
        if min(w, h) > SIZE:  # AlignMinSizeAction
            r = min(w, h) / SIZE
            image = image.resize((int(w / r), int(h / r)))
        r = min(SIZE / image.width, SIZE / image.height)  # PaddingAlignAction
        resized = image.resize((int(image.width * r), int(image.height * r)))
        padded = Image.new("RGB", (SIZE, SIZE), "white")
        padded.paste(resized, ((SIZE - resized.width) // 2, (SIZE - resized.height) // 2))
        padded.save(out / f"{path.stem}.png", compress_level=png_level)  # TI exporter
        caption = path.with_suffix(".txt")
        (out / f"{path.stem}.txt").write_text(caption.read_text() if caption.exists() else "")
    return time.perf_counter() - started


def _mode_convert(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im.copy()
    rgba = im.convert("RGBA")
    bg = Image.new("RGB", im.size, "white")
    bg.paste(rgba, mask=rgba.getchannel("A"))
    return bg


def illudex(lib: Library, folder: Path, out: Path, workers: int) -> tuple[float, dict]:
    spec = parse_spec({
        "source": {"paths": [str(folder)]},
        "step": [{"use": "mode-convert"}, {"use": "align-min-size", "size": SIZE},
                 {"use": "pad", "size": SIZE}],
        "export": {"format": "textual-inversion", "dir": str(out)}})
    started = time.perf_counter()
    report = build(lib, spec, workers=workers)
    return time.perf_counter() - started, report.as_json()


class CpuMeter:
    """CPU seconds (user + system) of this process and all its descendants while a call
    runs: worker processes are sampled every 0.1 s and counted at their last sample."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        for p in [me, *me.children(recursive=True)]:
            try:
                t = p.cpu_times()
                self.seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            self._sample()

    def measure(self, call: Callable[[], Any]) -> tuple[Any, float]:
        self._sample()
        before = dict(self.seen)
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            result = call()
        finally:
            self._sample()
            self.stop.set()
            thread.join()
        used = sum(t - before.get(pid, 0.0) for pid, t in self.seen.items())
        return result, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop-png-level", type=int, default=6,
                        help="zlib level of the loop's PNGs (6: Pillow's default, waifuc's)")
    parser.add_argument("--keep", action="store_true", help="keep the bench folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="illudex-bench-dataset-"))
    try:
        files = corpus(args.n, work / "pictures")
        lib = Library.open(work / "library")
        lib.workers = args.workers
        started = time.perf_counter()
        lib.scan([work / "pictures"])
        print(f"scan (not counted): {len(files)} pictures in {time.perf_counter() - started:.1f}s")
        (cold, report), cold_cpu = CpuMeter().measure(
            lambda: illudex(lib, work / "pictures", work / "illudex", args.workers))
        looped, loop_cpu = CpuMeter().measure(
            lambda: loop(files, work / "loop", args.loop_png_level))
        rerun, again = illudex(lib, work / "pictures", work / "illudex", args.workers)
        n = report["exported"]
        print(f"illudex cold : {cold:7.2f}s  {n / cold:7.1f} pictures/s  "
              f"cpu {cold_cpu:6.1f}s = {1000 * cold_cpu / n:5.1f} ms/picture  "
              f"({args.workers} workers; exported {n}, errors {len(report['errors'])})")
        print(f"PIL loop     : {looped:7.2f}s  {len(files) / looped:7.1f} pictures/s  "
              f"cpu {loop_cpu:6.1f}s = {1000 * loop_cpu / len(files):5.1f} ms/picture  "
              f"(PNG level {args.loop_png_level})")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores")
        print(f"illudex rerun: {rerun:7.2f}s  (processed {again['processed']}, "
              f"written {again['written']})")
        print(f"speed ratio illudex/loop: {(n / cold) / (len(files) / looped):.2f}x wall, "
              f"{(loop_cpu / len(files)) / (cold_cpu / n):.2f}x CPU per picture; "
              f"cold/re-run: {cold / rerun:.1f}x")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
