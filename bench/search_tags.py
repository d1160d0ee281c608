"""Tag search latency on a generated 100k-image catalog, against naive baselines.

The catalog (bench/out/search_tags.db) is generated once and reused: 100 000 images,
~20 000 tags with Zipf-distributed popularity, ~25 tags per image, a few aliases,
implications and translations. Each query runs through `illudex.search.search` (one page
of 100 results plus the exact total) and through two naive peers measured in the same run:

- LIKE: one denormalised ' tag tag tag ' string per image, filtered with LIKE per term;
- sets: every image's tag set held in Python (load time reported apart), filtered per image.

Both peers get the vocabulary already resolved (aliases, implications, wildcards), and
their totals are checked against illudex's, so the comparison is like for like.

Run: .venv/bin/python bench/search_tags.py [--repeats 30] [--regenerate]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from illudex.catalog.db import connect
from illudex.search import plan, search
from illudex.search.query import And, Meta, Not, Or, TagTerm, parse

OUT = Path(__file__).parent / "out"
DB = OUT / "search_tags.db"
N_IMAGES = 100_000
N_TAGS = 20_000
TAGS_PER_IMAGE = 25
# Popular real tags first, so queries read like real ones; Zipf rank = position here.
POPULAR = (
    "1girl", "solo", "long_hair", "breasts", "looking_at_viewer", "blush", "smile", "open_mouth",
    "short_hair", "blue_eyes", "simple_background", "shirt", "large_breasts", "skirt",
    "blonde_hair", "brown_hair", "black_hair", "hair_ornament", "red_eyes", "white_background",
    "long_sleeves", "1boy", "dress", "thighhighs", "gloves", "bow", "holding", "navel", "hat",
    "cleavage", "animal_ears", "jewelry", "bangs", "closed_mouth", "medium_breasts", "monochrome",
    "school_uniform", "purple_eyes", "green_eyes", "very_long_hair", "standing", "sitting",
    "twintails", "white_hair", "red_hair", "glasses", "kantai_collection", "zero_suit_samus",
    "samus_aran", "metroid",
)
RATINGS = ("general", "sensitive", "questionable", "explicit")
QUERIES = (
    "1girl long_hair smile -monochrome width:>=800",
    "solo blue_eyes -1boy rating:general",
    "(blonde_hair OR red_hair) dress -monochrome sort:-size",
    "*_hair school_uniform -glasses",
    "1girl smile ratio:0.5..0.8 size:>1mb",
    "kancolle 1girl -monochrome",
    "metroid -solo",
    "tag_01234 1girl",
    "breasts thighhighs -1boy tags:>=20 sort:width",
)


def generate(path: Path, seed: int = 7) -> None:
    """Write the bench catalog: images, Zipf-popular tags, a little vocabulary."""
    rng = np.random.default_rng(seed)
    path.unlink(missing_ok=True)
    conn = connect(path)
    names = list(POPULAR) + [f"tag_{i:05d}" for i in range(N_TAGS - len(POPULAR))]
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", enumerate(names, start=1))
    rating_ids = [
        conn.execute("INSERT INTO tags (name, category) VALUES (?, 'rating')", (r,)).lastrowid
        for r in RATINGS
    ]
    _insert_images(conn, rng)
    _insert_image_tags(conn, rng, rating_ids)
    _insert_vocabulary(conn)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def _insert_images(conn, rng: np.random.Generator) -> None:
    sizes = [(512, 768), (800, 1200), (1024, 1024), (1200, 800), (1920, 1080), (2048, 2896)]
    picks = rng.integers(0, len(sizes), N_IMAGES)
    byte_sizes = rng.lognormal(13.5, 1.0, N_IMAGES).astype(int) + 1000
    fmts = ("PNG", "JPEG", "WEBP")
    rows = (
        (i + 1, f"/data/art/folder_{i % 50:02d}/img_{i:06d}.png", int(byte_sizes[i]), 0,
         f"{i:032x}", sizes[picks[i]][0], sizes[picks[i]][1], fmts[i % 3], float(i), float(i))
        for i in range(N_IMAGES)
    )
    # In a library folder: search leaves out pictures that are in none (trashed ones).
    conn.execute("INSERT INTO folders (id, path, added_at) VALUES (1, '/data/art', 0)")
    conn.executemany(
        "INSERT INTO images (id, path, size, mtime_ns, digest, width, height, format,"
        " added_at, scanned_at, folder_id) VALUES (?,?,?,?,?,?,?,?,?,?,1)",
        rows,
    )


def _insert_image_tags(conn, rng: np.random.Generator, rating_ids: list[int]) -> None:
    weights = 1.0 / np.arange(1, N_TAGS + 1)
    weights /= weights.sum()
    draws = rng.choice(N_TAGS, size=(N_IMAGES, TAGS_PER_IMAGE + 8), p=weights) + 1
    ratings = rng.choice(len(RATINGS), size=N_IMAGES, p=[0.5, 0.3, 0.12, 0.08])
    scores = rng.uniform(0.35, 1.0, size=draws.shape)

    def rows():
        for i in range(N_IMAGES):
            seen: set[int] = set()
            for j, tag_id in enumerate(draws[i].tolist()):
                if tag_id not in seen and len(seen) < TAGS_PER_IMAGE:
                    seen.add(tag_id)
                    yield (i + 1, tag_id, "model:bench", float(scores[i, j]))
            yield (i + 1, rating_ids[ratings[i]], "model:bench", 0.9)

    conn.executemany("INSERT INTO image_tags VALUES (?, ?, ?, ?)", rows())


def _insert_vocabulary(conn) -> None:
    from illudex.tags.vocabulary import add_alias, add_implication, add_translation

    add_alias(conn, "kancolle", "kantai_collection")
    add_alias(conn, "kan_colle", "kancolle")
    add_translation(conn, "kantai_collection", "ja", "艦これ")
    add_implication(conn, "zero_suit_samus", "samus_aran")
    add_implication(conn, "samus_aran", "metroid")
    for i in range(0, 2000, 2):  # a vocabulary of realistic size for the planner to consult
        add_alias(conn, f"alias_{i:05d}", f"tag_{i + 100:05d}")


# -- the naive peers -------------------------------------------------------------------


def _tag_names_for(conn, term: TagTerm) -> set[str]:
    from illudex.search.planner import resolve_term_tag_ids

    ids = resolve_term_tag_ids(conn, term)
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    return {r[0] for r in conn.execute(f"SELECT name FROM tags WHERE id IN ({marks})", ids)}


def _meta_python(meta: Meta, row: tuple) -> bool:
    width, height, size, ntags = row
    value = {"width": width, "height": height, "size": size, "tags": ntags,
             "ratio": width / height}[meta.key]
    return meta.range.contains(value)


def build_peers(conn) -> tuple[Callable[[str], int], Callable[[str], int], float]:
    """Return (like_total, sets_total, seconds to load the sets) for the naive peers."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_denorm (id INTEGER PRIMARY KEY, tags TEXT NOT NULL)"
    )
    if conn.execute("SELECT COUNT(*) FROM bench_denorm").fetchone()[0] == 0:
        conn.execute(
            "INSERT INTO bench_denorm SELECT it.image_id, ' ' || group_concat(t.name, ' ') || ' '"
            " FROM image_tags it JOIN tags t ON t.id = it.tag_id GROUP BY it.image_id"
        )
    t0 = time.perf_counter()
    sets: dict[int, frozenset[str]] = {}
    for image_id, tags in conn.execute("SELECT id, tags FROM bench_denorm"):
        sets[image_id] = frozenset(tags.split())
    info = {
        r[0]: (r[1], r[2], r[3], len(sets.get(r[0], ())))
        for r in conn.execute("SELECT id, width, height, size FROM images")
    }
    load_s = time.perf_counter() - t0

    def like_total(query: str) -> int:
        where, params = _like_sql(conn, parse(query).root)
        sql = (
            "SELECT COUNT(*) FROM bench_denorm d JOIN images i ON i.id = d.id WHERE " + where
        )
        return conn.execute(sql, params).fetchone()[0]

    def sets_total(query: str) -> int:
        test = _set_predicate(conn, parse(query).root)
        return sum(1 for image_id, tags in sets.items() if test(tags, info[image_id]))

    return like_total, sets_total, load_s


def _like_sql(conn, node) -> tuple[str, list]:
    if isinstance(node, And):
        parts = [_like_sql(conn, c) for c in node.children]
        parts = [p for p in parts if p[0]]
        return " AND ".join(f"({s})" for s, _ in parts) or "1", [x for _, p in parts for x in p]
    if isinstance(node, Or):
        parts = [_like_sql(conn, c) for c in node.children]
        return " OR ".join(f"({s})" for s, _ in parts), [x for _, p in parts for x in p]
    if isinstance(node, Not):
        s, p = _like_sql(conn, node.child)
        return f"NOT ({s})", p
    if isinstance(node, TagTerm):
        names = sorted(_tag_names_for(conn, node))
        if not names:
            return "0", []
        return " OR ".join("d.tags LIKE ?" for _ in names), [f"% {n} %" for n in names]
    if isinstance(node, Meta):
        return _like_meta(node)
    return "", []  # sort:, limit: and the like


def _like_meta(meta: Meta) -> tuple[str, list]:
    if meta.key == "rating":
        return " OR ".join("d.tags LIKE ?" for _ in meta.values), [
            f"% {v} %" for v in meta.values
        ]
    column = {"width": "i.width", "height": "i.height", "size": "i.size",
              "ratio": "(CAST(i.width AS REAL) / i.height)",
              "tags": "(length(trim(d.tags)) - length(replace(trim(d.tags), ' ', '')) + 1)"}
    r = meta.range
    parts, params = [], []
    if r.lo is not None:
        parts.append(f"{column[meta.key]} {'>=' if r.lo_inclusive else '>'} ?")
        params.append(r.lo)
    if r.hi is not None:
        parts.append(f"{column[meta.key]} {'<=' if r.hi_inclusive else '<'} ?")
        params.append(r.hi)
    return " AND ".join(parts) or "1", params


def _set_predicate(conn, node) -> Callable[[frozenset[str], tuple], bool]:
    if isinstance(node, And):
        tests = [_set_predicate(conn, c) for c in node.children]
        return lambda tags, row: all(t(tags, row) for t in tests)
    if isinstance(node, Or):
        tests = [_set_predicate(conn, c) for c in node.children]
        return lambda tags, row: any(t(tags, row) for t in tests)
    if isinstance(node, Not):
        test = _set_predicate(conn, node.child)
        return lambda tags, row: not test(tags, row)
    if isinstance(node, TagTerm):
        names = _tag_names_for(conn, node)
        return lambda tags, row: not tags.isdisjoint(names)
    if isinstance(node, Meta) and node.key == "rating":
        wanted = set(node.values)
        return lambda tags, row: not tags.isdisjoint(wanted)
    if isinstance(node, Meta) and node.range is not None:
        return lambda tags, row: _meta_python(node, row)
    return lambda tags, row: True


def _sql_plan_total(conn, query: str) -> int:
    """The plain-SQL plan (no cached posting lists): all ids, then a page of paths."""
    p = plan(conn, query)
    ids = [r[0] for r in conn.execute(p.sql, p.params)]
    page = ids[:100]
    marks = ",".join("?" * len(page))
    conn.execute(f"SELECT id, path FROM images WHERE id IN ({marks})", page).fetchall()
    return len(ids)


# -- measuring -------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, out


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.regenerate or not DB.exists():
        t0 = time.perf_counter()
        generate(DB)
        print(f"generated {DB} in {time.perf_counter() - t0:.1f} s")
    conn = connect(DB)
    like_total, sets_total, load_s = build_peers(conn)
    n_tags = conn.execute("SELECT COUNT(*) FROM tags").fetchone()[0]
    n_rows = conn.execute("SELECT COUNT(*) FROM image_tags").fetchone()[0]
    print(f"catalog: {N_IMAGES} images, {n_tags} tags, {n_rows} image_tags rows; "
          f"python sets loaded in {load_s * 1000:.0f} ms (not counted below)")
    print(f"{'query':<52} {'total':>6} {'first':>6} {'p95':>6} {'med':>6} {'SQLp95':>7} "
          f"{'LIKEp95':>8} {'setsp95':>8} {'xLIKE':>6} {'xsets':>6}")
    worst = 0.0
    for query in QUERIES:
        first, _ = timed(lambda q=query: search(conn, q, limit=100), 1)  # may build caches
        ours, result = timed(lambda q=query: search(conn, q, limit=100), args.repeats)
        peer_repeats = max(3, args.repeats // 5)
        sql, sql_n = timed(lambda q=query: _sql_plan_total(conn, q), peer_repeats)
        like, like_n = timed(lambda q=query: like_total(q), peer_repeats)
        sets, sets_n = timed(lambda q=query: sets_total(q), peer_repeats)
        if not result.total == like_n == sets_n == sql_n:
            print(f"MISMATCH for {query!r}: illudex {result.total}, plain SQL {sql_n}, "
                  f"LIKE {like_n}, sets {sets_n}")
            return 1
        worst = max(worst, p95(ours))
        print(f"{query:<52} {result.total:>6} {first[0]:>6.1f} {p95(ours):>6.1f} "
              f"{statistics.median(ours):>6.1f} {p95(sql):>7.1f} {p95(like):>8.1f} "
              f"{p95(sets):>8.1f} {p95(like) / p95(ours):>6.1f} {p95(sets) / p95(ours):>6.1f}")
    print(f"worst p95: {worst:.1f} ms (target <= 50 ms); times in ms; {args.repeats} repeats "
          f"(peers {max(3, args.repeats // 5)}); first = first run in this process; "
          "SQL = plan.sql run alone (EXISTS, no posting cache), all ids + page")
    return 0


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--regenerate", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
