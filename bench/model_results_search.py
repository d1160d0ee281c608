#!/usr/bin/env python3
"""Search by what the model steps found (`faces:1`, `class:illustration`): milliseconds a
query on a built catalog of N pictures, half of them with stored results.

    .venv/bin/python bench/model_results_search.py --n 50000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from illudex.catalog import modelresults
from illudex.catalog.db import connect
from illudex.search import search

QUERIES = ("faces:1", "faces:>=2 -class:comic", "class:illustration", "faces:1 sort:-width")


def build(folder: Path, n: int) -> object:
    conn = connect(folder / "catalog.db")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO folders (id, path, added_at) VALUES (1, '/x', 0)")
    conn.executemany(
        "INSERT INTO images (id, path, folder_id, size, mtime_ns, digest, width, height, "
        "added_at, scanned_at) VALUES (?, ?, 1, 1, 1, ?, 100, 100, 0, 0)",
        [(i, f"/x/{i}.png", f"{i:032x}") for i in range(1, n + 1)])
    conn.execute("COMMIT")
    rng = random.Random(1)
    faces = [modelresults.Result(f"{i:032x}", {}, count=rng.choice([0, 1, 1, 2, 3]))
             for i in range(1, n // 2 + 1)]
    classes = [modelresults.Result(f"{i:032x}", {}, label=rng.choice(["illustration", "comic"]))
               for i in range(1, n // 2 + 1)]
    modelresults.store(conn, "face", "r", "m", faces)
    modelresults.store(conn, "class", "r", "m", classes)
    return conn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        conn = build(Path(folder), a.n)
        for query in QUERIES:
            search(conn, query, limit=50)  # warm: posting lists and column caches
            start = time.perf_counter()
            for _ in range(a.repeat):
                found = search(conn, query, limit=50)
            ms = (time.perf_counter() - start) / a.repeat * 1000
            print(f"{query:28s} {found.total:7d} matches {ms:7.0f} ms")
        conn.close()


if __name__ == "__main__":
    main()
