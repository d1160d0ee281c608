#!/usr/bin/env python3
"""CPU time of the scan's decode worker per picture, and of each of its stages, serial
in this process (time.process_time: robust on a loaded machine; median of --repeat).

    .venv/bin/python bench/dupes_worker_cpu.py /work/corpora/mixed1 /work/corpora/lineart1

A fixed sample: every k-th file (sorted by name) of each corpus, --files in all.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import cv2

from illudex.dupes import features, quality
from illudex.imageio import decode_file
from illudex.library import scan_analysers
from illudex.scan.worker import WorkerConfig, process_file


def sample(corpora: list[Path], n: int) -> list[Path]:
    per = -(-n // len(corpora))
    out: list[Path] = []
    for c in corpora:
        files = sorted(p for p in (c / "images").iterdir() if p.is_file())
        out += files[:: max(1, len(files) // per)][:per]
    return out[:n]


def cpu_ms(fn, items: list, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        t = time.process_time()
        for it in items:
            fn(it)
        runs.append((time.process_time() - t) * 1000 / len(items))
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", type=Path, nargs="+")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    cv2.setNumThreads(1)
    files = sample(a.corpora, a.files)
    config = WorkerConfig(analysers=scan_analysers())
    tasks = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    data = [p.read_bytes() for p in files]

    def dec(d: tuple[bytes, str]):  # type: ignore[no-untyped-def]
        return decode_file(io.BytesIO(d[0]), d[1], side=config.side, coarse=True, keep_full=True)

    named = list(zip(data, map(str, files), strict=True))
    decs = [dec(d) for d in named]

    def both(d):  # type: ignore[no-untyped-def]
        features.extract(d.image)  # as the worker runs them: the quality record after
        quality.extract(d)

    print(f"{len(files)} files, median of {a.repeat}, CPU ms per picture")
    print(f"  worker total   {cpu_ms(lambda t: process_file(t, config), tasks, a.repeat):6.2f}")
    print(f"  decode         {cpu_ms(dec, named, a.repeat):6.2f}")
    print(f"  features       {cpu_ms(lambda d: features.extract(d.image), decs, a.repeat):6.2f}")
    print(f"  quality alone  {cpu_ms(quality.extract, decs, a.repeat):6.2f}")
    print(f"  both analysers {cpu_ms(both, decs, a.repeat):6.2f}")


if __name__ == "__main__":
    main()
