#!/usr/bin/env python3
"""Scale: `illudex dupes` on a generated folder of N pictures (default 50 000).

Prints images/s for the cold run (scan + dupes), the time of a re-run with nothing
changed and its ratio, and peak RSS of the main process and of the whole process tree
(main + decode workers), sampled every 0.1 s.

    .venv/bin/python bench/scale.py [--n 50000] [--out bench/out/scale]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
from PIL import ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from illudex.sample import drawing


def make_one(args: tuple[str, int]) -> None:
    folder, i = args
    rnd = random.Random(i)
    sub = Path(folder) / f"{i // 1000:03d}"
    sub.mkdir(parents=True, exist_ok=True)
    if i % 20 == 19:  # every 20th picture is an edited copy of the one before
        src = drawing(random.Random(i - 1), (480, 640))
        src.resize((240, 320)).filter(ImageFilter.GaussianBlur(0.6)).save(
            sub / f"{i:06d}_copy.jpg", quality=80)
        return
    im = drawing(rnd, (480, 640))
    if i % 2:
        im.save(sub / f"{i:06d}.jpg", quality=88)
    else:
        im.save(sub / f"{i:06d}.png", compress_level=1)


def make_folder(folder: Path, n: int) -> None:
    marker = folder / f".complete-{n}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with multiprocessing.Pool() as pool:
        for _ in pool.imap_unordered(make_one, [(str(folder), i) for i in range(n)], 64):
            pass
    marker.touch()


def run_measured(cmd: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS of the main process, peak RSS summed over the tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    main = psutil.Process(proc.pid)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        try:
            procs = [main, *main.children(recursive=True)]
            rss = [p.memory_info().rss for p in procs]
            peak_main = max(peak_main, rss[0])
            peak_tree = max(peak_tree, sum(rss))
        except psutil.Error:
            pass
        time.sleep(0.1)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak_main, peak_tree


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--out", default="bench/out/scale")
    a = ap.parse_args()
    out = Path(a.out)
    images = out / f"images-{a.n}"
    t = time.perf_counter()
    make_folder(images, a.n)
    print(f"folder of {a.n} pictures ready ({time.perf_counter() - t:.0f} s)")
    library = out / "library"
    shutil.rmtree(library, ignore_errors=True)
    illudex = str(Path(sys.executable).with_name("illudex"))
    cmd = [illudex, "dupes", str(images), "--json", "--library", str(library)]
    cold, main_rss, tree_rss = run_measured(cmd)
    warm_runs = [run_measured(cmd)[0] for _ in range(3)]
    warm = sorted(warm_runs)[1]
    mb = 1024 * 1024
    print(f"cold scan+dupes: {cold:.1f} s = {a.n / cold:.0f} images/s")
    print(f"peak RSS: main process {main_rss / mb:.0f} MB, whole tree {tree_rss / mb:.0f} MB "
          f"(goal < 1500 MB)")
    print(f"re-run, nothing changed (median of 3): {warm:.2f} s; cold/warm = {cold / warm:.0f}x "
          "(goal >= 20x)")
    print(f"cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
