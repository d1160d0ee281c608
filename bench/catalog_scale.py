#!/usr/bin/env python3
"""Where SQLite stops being enough: tag queries, catalog writes and re-scan planning on a
synthetic catalog of N pictures (docs/scale.md measures 1 M and 3 M and derives 10 M).

The catalog is the real schema (`illudex.catalog.db.connect`), filled the way
bench/search_tags.py fills its 100 000-picture one (Zipf-popular tags, 25 a picture, a
rating each), scaled to `--n`; plus a duplicate-feature and a quality record per picture
of the sizes a real scan stores (3 730 + 1 049 bytes on /work/corpora/mixed1), and with
`--dim`, one float32 embedding per picture. Measured on it:

- tag queries: bench/search_tags.py's queries through `illudex.search.search` (first run,
  which builds the posting caches, and the median of --repeats);
- scan commits: `--write` new pictures stored through the scan engine's own `_store`, in
  its batches of 256, plus 26 model tags and a model run per picture with the tag
  runner's statements; pictures per second;
- re-scan planning: reading every row under the root (`catalog.images.rows_under`) and
  finding stale features (what `scan` does before it reads one file);
- with --dim: the embedding fingerprints a vector index reads to sync with the catalog.

    .venv/bin/python bench/catalog_scale.py --n 1000000 [--dim 1024] [--keep]

The catalog file (bench/out/catalog_scale_N.db) is deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import search_tags  # the 100 000-picture generator, reused at scale

from illudex.catalog import embeddings as embedding_rows
from illudex.catalog import images as image_rows
from illudex.catalog.db import connect, transaction
from illudex.library import scan_analysers
from illudex.scan import engine
from illudex.scan.worker import FileResult
from illudex.search import search

FEATURE_BYTES = {"dupes": 3730, "quality": 1049}  # mean sizes on mixed1 (docstring)
ROOT = "/data/art"


def generate(path: Path, n: int, dim: int, features: bool = True, in_sql: bool = False
             ) -> float:
    """Write the catalog; seconds taken."""
    t0 = time.perf_counter()
    if in_sql:
        generate_in_sql(path, n)
    else:
        search_tags.N_IMAGES = n  # the generator reads the module's size when it runs
        search_tags.generate(path)
    conn = connect(path)
    folder = conn.execute("INSERT INTO folders (path, added_at) VALUES (?, 0)",
                          (ROOT,)).lastrowid
    with transaction(conn, immediate=True):
        conn.execute("UPDATE images SET folder_id = ?", (folder,))
        for name, size in FEATURE_BYTES.items() if features else ():
            # zeroblob: the same pages as real bytes
            conn.execute("INSERT INTO features SELECT id, ?, 1, zeroblob(?) FROM images",
                         (name, size))
        if dim:
            conn.execute("INSERT INTO embeddings SELECT id, 'bench', ?, randomblob(?) "
                         "FROM images", (dim, dim * 4))
    conn.close()
    return time.perf_counter() - t0


def generate_in_sql(path: Path, n: int) -> None:
    """search_tags' catalog written by SQLite itself (the Python generator takes ~1 h for
    3 M pictures here): the same tag names, 25 tags a picture drawn log-uniformly from
    20 000 (P(k) ∝ ln((k+1)/k) ≈ 1/k: the Zipf popularity of search_tags), a rating each;
    search_tags' vocabulary."""
    path.unlink(missing_ok=True)
    conn = connect(path)
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB: the tag index build sorts in it
    # The (tag_id, image_id) index is built once at the end, by a sort: inserting 80 M
    # rows into it one by one, in random tag order, takes hours here.
    index_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'image_tags_tag'"
                             ).fetchone()[0]
    conn.execute("DROP INDEX image_tags_tag")
    names = list(search_tags.POPULAR) + [f"tag_{i:05d}" for i in range(
        search_tags.N_TAGS - len(search_tags.POPULAR))]
    with transaction(conn, immediate=True):
        conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", enumerate(names, 1))
        ratings = [conn.execute("INSERT INTO tags (name, category) VALUES (?, 'rating')",
                                (r,)).lastrowid for r in search_tags.RATINGS]
        conn.execute(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
            "INSERT INTO images (id, path, size, mtime_ns, digest, width, height, format, "
            "added_at, scanned_at) SELECT i, printf('/data/art/folder_%02d/img_%08d.png', "
            "i % 50, i), 1000 + abs(random()) % 3000000, 0, printf('%032x', i), "
            "512 + abs(random()) % 1600, 512 + abs(random()) % 2400, "
            "CASE i % 3 WHEN 0 THEN 'PNG' WHEN 1 THEN 'JPEG' ELSE 'WEBP' END, i, i FROM s",
            (n,))
        conn.execute(
            "WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < 28) "
            "INSERT OR IGNORE INTO image_tags SELECT i.id, "
            "CAST(pow(?, (abs(random()) % 1000000000) / 1e9) AS INTEGER), 'model:bench', 0.5 "
            "FROM images i, k", (search_tags.N_TAGS,))
        conn.execute("INSERT INTO image_tags SELECT id, ? + abs(random()) % 4, "
                     "'model:bench', 0.9 FROM images", (ratings[0],))
        search_tags._insert_vocabulary(conn)
    conn.execute(index_sql)
    conn.execute("ANALYZE")
    conn.close()


def tag_queries(conn, repeats: int) -> list[tuple[str, int, float, float]]:
    """(query, total, first ms, median ms) per query."""
    out = []
    for query in search_tags.QUERIES:
        t0 = time.perf_counter()
        result = search(conn, query, limit=100)
        first = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            search(conn, query, limit=100)
            times.append((time.perf_counter() - t0) * 1000)
        out.append((query, result.total, first, statistics.median(times)))
    return out


def scan_commits(conn, n_new: int, start_id: int) -> float:
    """Pictures per second stored the way a scan and then a tagger store them."""
    folder_id = conn.execute("SELECT id FROM folders WHERE path = ?", (ROOT,)).fetchone()[0]
    report = engine.ScanReport()
    tag_ids = [r[0] for r in conn.execute("SELECT id FROM tags ORDER BY id LIMIT 26")]
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for batch_start in range(0, n_new, engine.COMMIT_EVERY_FILES):
        results = [_result(start_id + i, rng) for i in
                   range(batch_start, min(n_new, batch_start + engine.COMMIT_EVERY_FILES))]
        with transaction(conn, immediate=True):
            for r in results:
                engine._store(conn, r, {}, {}, set(), report, folder_id)
        ids = [r[0] for r in conn.execute("SELECT id FROM images ORDER BY id DESC LIMIT ?",
                                          (len(results),))]
        with transaction(conn, immediate=True):  # as analysers.runner.store_tags writes them
            conn.executemany("INSERT OR REPLACE INTO image_tags VALUES (?, ?, 'model:w', ?)",
                             ((i, t, 0.5) for i in ids for t in tag_ids))
            conn.executemany("INSERT OR REPLACE INTO model_runs VALUES (?, 'w', 'tags', 0)",
                             ((i,) for i in ids))
    return n_new / (time.perf_counter() - t0)


def _result(i: int, rng: np.random.Generator) -> FileResult:
    features = {k: (1, rng.bytes(size)) for k, size in FEATURE_BYTES.items()}
    return FileResult(path=f"{ROOT}/new/{i:08d}.png", size=1000 + i, mtime_ns=i,
                      digest=f"{i:032x}", width=800, height=1200, format="PNG", mode="RGB",
                      features=features)


def rescan_plan(conn) -> tuple[float, float]:
    """(seconds to read every row under the root, seconds to find stale features), as
    `scan` does before it reads one file."""
    t0 = time.perf_counter()
    rows = image_rows.rows_under(conn, ROOT)
    rows_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine._stale_feature_ids(conn, scan_analysers())
    assert rows
    return rows_s, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    path = Path(args.out) / f"catalog_scale_{args.n}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"generating {args.n} pictures ...", flush=True)
        took = generate(path, args.n, args.dim, not args.no_features, args.sql)
        print(f"generated in {took:.0f} s", flush=True)
    conn = connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file alone, not a pending log
    size = path.stat().st_size
    print(f"catalog: {args.n} pictures, {size / 2**30:.2f} GiB, "
          f"{size / args.n:.0f} bytes a picture (dim {args.dim})", flush=True)
    try:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows_s, versions_s = rescan_plan(conn)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 2**20
        print(f"re-scan plan: rows_under {rows_s:.1f} s, feature versions {versions_s:.1f} s, "
              f"peak memory +{grown:.2f} GiB", flush=True)
        if args.dim:
            t0 = time.perf_counter()
            embedding_rows.fingerprints(conn, "bench")
            print(f"embedding fingerprints: {time.perf_counter() - t0:.1f} s", flush=True)
        print(f"{'query':<52} {'total':>8} {'first ms':>9} {'median ms':>10}")
        for query, total, first, median in tag_queries(conn, args.repeats):
            print(f"{query:<52} {total:>8} {first:>9.0f} {median:>10.1f}", flush=True)
        rate = scan_commits(conn, args.write, args.n + 10)
        print(f"scan + tag commits: {rate:.0f} pictures/s ({args.write} new pictures, "
              f"batches of {engine.COMMIT_EVERY_FILES})", flush=True)
    finally:
        conn.close()
        if not args.keep:
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
    return 0


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=0, help="store an embedding of this size")
    parser.add_argument("--write", type=int, default=5_120, help="new pictures to commit")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-features", action="store_true",
                        help="no duplicate-feature / quality rows (less disk)")
    parser.add_argument("--sql", action="store_true",
                        help="generate in SQL (fast; tags log-uniform, ~26 a picture)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
