"""Time `quality:>=0.7` and `sort:-quality` over N synthetic catalog pictures, all scored.

    .venv/bin/python bench/quality_search.py 100000
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from illudex.catalog import modelresults
from illudex.library import Library

QUERIES = ("quality:>=0.7", "sort:-quality", "quality:>=0.7 sort:-quality limit:100")


def fill(lib: Library, n: int) -> None:
    now = time.time()
    with lib.conn:
        lib.conn.execute("BEGIN")
        lib.conn.execute("INSERT INTO folders (id, path, added_at) VALUES (1, '/x', 0)")
        lib.conn.executemany(
            "INSERT INTO images (folder_id, id, path, size, mtime_ns, digest, width, height, "
            "added_at, scanned_at) VALUES (1, ?, ?, 1, 1, ?, 100, 100, ?, ?)",
            [(i, f"/x/{i}.png", f"d{i}", now, now) for i in range(1, n + 1)])
        lib.conn.execute("COMMIT")
    rng = random.Random(1)
    modelresults.store(lib.conn, modelresults.QUALITY_KIND, '["m"]', "m", (
        modelresults.Result(f"d{i}", {"quality": rng.random(), "label": "good"}, label="good")
        for i in range(1, n + 1)))


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        lib = Library.open(Path(folder) / "lib")
        fill(lib, n)
        for query in QUERIES:
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                lib.search(query, limit=100)
                best = min(best, time.perf_counter() - started)
            print(f"{n} pictures, {query!r}: {best * 1000:.0f} ms (best of 3)")
        lib.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
