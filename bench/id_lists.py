#!/usr/bin/env python3
"""Two ways to hand SQLite a list of ids: 900-item chunks of `IN (?, ?, …)` against one
`IN (SELECT value FROM json_each(?))` parameter. Milliseconds per query (best of
--repeat) on a catalog of --n images with one embedding each, asking for 100 ids and for
every other id.

    .venv/bin/python bench/id_lists.py --n 200000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from illudex.catalog.db import connect

CHUNK = 900


def build(folder: Path, n: int, dim: int) -> object:
    conn = connect(folder / "catalog.db")
    blob = bytes(4 * dim)
    with conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO folders (id, path, added_at) VALUES (1, '/x', 0)")
        conn.executemany(
            "INSERT INTO images (id, path, folder_id, size, mtime_ns, digest, added_at, "
            "scanned_at) VALUES (?, ?, 1, 1, 1, ?, 0, 0)",
            [(i, f"/x/{i}.png", f"{i:032x}") for i in range(1, n + 1)])
        conn.executemany(
            "INSERT INTO embeddings (image_id, model, dim, vector) VALUES (?, 'm', ?, ?)",
            [(i, dim, blob) for i in range(1, n + 1)])
    return conn


def chunked(conn: object, sql: str, head: Sequence[object], ids: Sequence[int]) -> int:
    rows = 0
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        marks = ",".join("?" * len(part))
        rows += len(conn.execute(sql.format(ids=marks), (*head, *part)).fetchall())
    return rows


def json_list(conn: object, sql: str, head: Sequence[object], ids: Sequence[int]) -> int:
    clause = "SELECT value FROM json_each(?)"
    return len(conn.execute(sql.format(ids=clause), (*head, json.dumps(list(ids)))).fetchall())


def best_ms(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        rows = fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = build(Path(tmp), args.n, args.dim)
        every_other = list(range(1, args.n + 1, 2))
        queries = {
            "images ids": ("SELECT id FROM images WHERE id IN ({ids})", ()),
            "images rows": ("SELECT id, path, digest, size FROM images WHERE id IN ({ids})", ()),
            "embeddings": ("SELECT image_id, vector FROM embeddings WHERE model = ? "
                           "AND image_id IN ({ids})", ("m",)),
        }
        print(f"n={args.n} dim={args.dim} best of {args.repeat}")
        print(f"{'query':14} {'ids':>7} {'chunks of 900 ms':>17} {'json_each ms':>13}")
        for ids in (every_other[:100], every_other):
            for name, (sql, head) in queries.items():
                a, rows_a = best_ms(lambda s=sql, h=head, i=ids: chunked(conn, s, h, i),
                                    args.repeat)
                b, rows_b = best_ms(lambda s=sql, h=head, i=ids: json_list(conn, s, h, i),
                                    args.repeat)
                assert rows_a == rows_b == len(ids)
                print(f"{name:14} {len(ids):7} {a:17.2f} {b:13.2f}")


if __name__ == "__main__":
    main()
