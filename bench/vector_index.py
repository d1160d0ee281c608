"""Benchmark: which embedded ANN library serves illudex's search by picture.

Candidates: usearch (HNSW; f32 / f16 / i8 storage), faiss-cpu (HNSW-Flat, IVF-Flat), hnswlib
(HNSW), against exact numpy brute force measured in the same run. Data: a mixture of Gaussians
on the unit sphere (clusters of uneven size and spread around a shared mean direction, as real
image embeddings have), queries drawn near data points (another picture like one we have).

For every candidate it prints build time, file size, RSS after loading the file in a fresh
process, p50/p95 single-query latency for k=10 (one thread), recall@10 against exact search,
speed-up against exact, and the time to remove and add 1 000 vectors. A second table measures
search restricted to an `allowed` id set: exact search within the set vs. over-fetching from
the ANN and filtering, to find the crossover.

    .venv/bin/python bench/vector_index.py                      # 100 000 x 1024 and x 768
    .venv/bin/python bench/vector_index.py --n 20000 --dims 1024 --queries 200   # quick
    .venv/bin/python bench/vector_index.py --open-only --dims 1024   # open_index costs
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

K = 10
BUILD_THREADS = 2
OVERFETCH_FACTORS = (2, 4)
ALLOWED_FRACTIONS = (0.001, 0.005, 0.01, 0.03, 0.1, 0.3, 0.6)


# ---------------------------------------------------------------- data


def normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_data(n: int, dim: int, centres: int, seed: int) -> np.ndarray:
    """Clustered unit vectors: uneven cluster sizes (Zipf-like), per-cluster spread."""
    rng = np.random.default_rng(seed)
    mean = normalise(rng.standard_normal((1, dim)))
    centre_dirs = normalise(rng.standard_normal((centres, dim)))
    spread = rng.uniform(0.5, 1.3, centres).astype(np.float32)
    weights = 1.0 / np.arange(1, centres + 1) ** 0.7
    labels = rng.choice(centres, size=n, p=weights / weights.sum())
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 10_000):
        lab = labels[start : start + 10_000]
        noise = rng.standard_normal((len(lab), dim), dtype=np.float32) / np.sqrt(dim)
        out[start : start + len(lab)] = normalise(
            0.7 * mean + centre_dirs[lab] + spread[lab, None] * noise
        )
    return out


def make_queries(data: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Points near data points: cosine ~0.85-0.95 to the point they were drawn from."""
    rng = np.random.default_rng(seed + 1)
    picks = data[rng.choice(len(data), count, replace=False)]
    noise = rng.standard_normal(picks.shape, dtype=np.float32) / np.sqrt(data.shape[1])
    return normalise(picks + 0.45 * noise)


def exact_topk(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(queries), k), np.int64)
    for start in range(0, len(queries), 256):
        scores = queries[start : start + 256] @ data.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start : start + 256] = np.take_along_axis(top, order, axis=1)
    return out


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    hits = [len(np.intersect1d(f[:K], t)) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / truth.shape[1]


# ---------------------------------------------------------------- candidates


@dataclass
class Candidate:
    """One library + settings: build(data, ids) then search(q, k) -> ids; save/load for RSS."""

    name: str
    build: Callable[[np.ndarray, np.ndarray], object]
    search: Callable[[object, np.ndarray, int], np.ndarray]
    save: Callable[[object, str], None]
    load_kind: str
    sweeps: list[tuple[str, Callable[[object], None]]] = field(default_factory=list)
    remove: Callable[[object, np.ndarray], None] | None = None
    add: Callable[[object, np.ndarray, np.ndarray], None] | None = None


def exact_candidate() -> Candidate:
    def search(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
        scores = x @ q
        top = np.argpartition(-scores, k)[:k]
        return top[np.argsort(-scores[top])]

    return Candidate(
        "exact numpy", lambda d, i: d, search, lambda x, p: np.save(p, x), "numpy",
        remove=lambda x, ids: None, add=lambda x, ids, v: None,
    )


def usearch_candidate(dtype: str) -> Candidate:
    from usearch.index import Index

    def build(data: np.ndarray, ids: np.ndarray) -> Index:
        index = Index(ndim=data.shape[1], metric="ip", dtype=dtype, connectivity=16,
                      expansion_add=128, expansion_search=64)
        index.add(ids, data, threads=BUILD_THREADS)
        return index

    def set_ef(ef: int) -> Callable[[Index], None]:
        def apply(index: Index) -> None:
            index.expansion_search = ef
        return apply

    return Candidate(
        f"usearch hnsw {dtype}", build,
        lambda ix, q, k: ix.search(q, k, threads=1).keys,
        lambda ix, p: ix.save(p), "usearch",
        sweeps=[(f"ef={ef}", set_ef(ef)) for ef in (32, 64, 128)],
        remove=lambda ix, ids: ix.remove(ids),
        add=lambda ix, ids, v: ix.add(ids, v, threads=1),
    )


def faiss_hnsw_candidate() -> Candidate:
    import faiss

    def build(data: np.ndarray, ids: np.ndarray) -> object:
        faiss.omp_set_num_threads(BUILD_THREADS)
        inner = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = 128
        index = faiss.IndexIDMap2(inner)
        index.add_with_ids(data, ids)
        faiss.omp_set_num_threads(1)
        return index

    def set_ef(ef: int) -> Callable[[object], None]:
        def apply(index: object) -> None:
            faiss.downcast_index(index.index).hnsw.efSearch = ef
        return apply

    return Candidate(
        "faiss hnsw flat", build,
        lambda ix, q, k: ix.search(q[None, :], k)[1][0],
        lambda ix, p: faiss.write_index(ix, p), "faiss",
        sweeps=[(f"ef={ef}", set_ef(ef)) for ef in (32, 64, 128)],
        remove=None,  # HNSW in faiss cannot remove: a deletion means a rebuild
        add=lambda ix, ids, v: ix.add_with_ids(v, ids),
    )


def faiss_ivf_candidate(nlist: int) -> Candidate:
    import faiss

    def build(data: np.ndarray, ids: np.ndarray) -> object:
        faiss.omp_set_num_threads(BUILD_THREADS)
        quantiser = faiss.IndexFlatIP(data.shape[1])
        index = faiss.IndexIVFFlat(quantiser, data.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        sample = data[np.random.default_rng(0).choice(len(data), min(len(data), 40 * nlist),
                                                      replace=False)]
        index.train(sample)
        index.add_with_ids(data, ids)
        faiss.omp_set_num_threads(1)
        return index

    def set_nprobe(nprobe: int) -> Callable[[object], None]:
        def apply(index: object) -> None:
            index.nprobe = nprobe
        return apply

    def remove(index: object, ids: np.ndarray) -> None:
        index.remove_ids(faiss.IDSelectorBatch(ids))

    return Candidate(
        f"faiss ivf{nlist} flat", build,
        lambda ix, q, k: ix.search(q[None, :], k)[1][0],
        lambda ix, p: faiss.write_index(ix, p), "faiss",
        sweeps=[(f"nprobe={p}", set_nprobe(p)) for p in (16, 32, 64)],
        remove=remove, add=lambda ix, ids, v: ix.add_with_ids(v, ids),
    )


def hnswlib_candidate() -> Candidate:
    import hnswlib

    def build(data: np.ndarray, ids: np.ndarray) -> object:
        index = hnswlib.Index(space="ip", dim=data.shape[1])
        index.init_index(max_elements=len(data) + 2000, M=16, ef_construction=128,
                         allow_replace_deleted=True)
        index.add_items(data, ids, num_threads=BUILD_THREADS)
        index.set_num_threads(1)
        return index

    def set_ef(ef: int) -> Callable[[object], None]:
        def apply(index: object) -> None:
            index.set_ef(ef)
        return apply

    def remove(index: object, ids: np.ndarray) -> None:
        for i in ids:
            index.mark_deleted(int(i))

    return Candidate(
        "hnswlib", build,
        lambda ix, q, k: ix.knn_query(q, k, num_threads=1)[0][0],
        lambda ix, p: ix.save_index(p), "hnswlib",
        sweeps=[(f"ef={ef}", set_ef(ef)) for ef in (32, 64, 128)],
        remove=remove,
        add=lambda ix, ids, v: ix.add_items(v, ids, num_threads=1, replace_deleted=True),
    )


# ---------------------------------------------------------------- measuring


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _load_in_child(kind: str, path: str, dim: int, queue: mp.Queue) -> None:
    before = rss_mb()
    started = time.perf_counter()
    if kind == "numpy":
        obj = np.load(path)
    elif kind == "usearch":
        from usearch.index import Index

        obj = Index.restore(path)
    elif kind == "faiss":
        import faiss

        obj = faiss.read_index(path)
    else:
        import hnswlib

        obj = hnswlib.Index(space="ip", dim=dim)
        obj.load_index(path)
    queue.put((time.perf_counter() - started, rss_mb() - before, obj is not None))


def load_rss(kind: str, path: str, dim: int) -> tuple[float, float]:
    """(load seconds, RSS growth in MiB) of loading `path` in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_in_child, args=(kind, path, dim, queue))
    proc.start()
    seconds, rss, _ = queue.get()
    proc.join()
    return seconds, rss


def latencies(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray,
              passes: int) -> tuple[np.ndarray, list[np.ndarray]]:
    for q in queries[:20]:  # warm-up: caches, lazy allocations
        search(q)
    times, found = [], []
    for _ in range(passes):
        found = []
        for q in queries:
            started = time.perf_counter()
            found.append(np.asarray(search(q)))
            times.append(time.perf_counter() - started)
    return np.array(times) * 1000, found


@dataclass
class Row:
    name: str
    setting: str
    build_s: float
    file_mb: float
    rss_mb: float
    p50: float
    p95: float
    recall: float
    speedup: float
    remove_ms: str
    add_ms: str


def bench_candidate(cand: Candidate, data: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                    passes: int, workdir: Path, exact_p50: float | None) -> list[Row]:
    ids = np.arange(len(data), dtype=np.int64)
    gc.collect()
    started = time.perf_counter()
    index = cand.build(data, ids)
    build_s = time.perf_counter() - started
    path = str(workdir / cand.name.replace(" ", "_"))
    cand.save(index, path)
    if cand.load_kind == "numpy":
        path += ".npy"
    file_mb = os.path.getsize(path) / 2**20
    _, rss = load_rss(cand.load_kind, path, data.shape[1])
    rows = []
    for setting, apply in cand.sweeps or [("", lambda ix: None)]:
        apply(index)
        times, found = latencies(lambda q, index=index: cand.search(index, q, K), queries, passes)
        p50, p95 = float(np.median(times)), float(np.percentile(times, 95))
        rows.append(Row(cand.name, setting, build_s, file_mb, rss, p50, p95,
                        recall(found, truth), (exact_p50 or p50) / p50, "", ""))
    rows[0].remove_ms, rows[0].add_ms = churn(cand, index, data)
    os.remove(path)
    del index
    return rows


def churn(cand: Candidate, index: object, data: np.ndarray) -> tuple[str, str]:
    """Remove 1 000 ids, then add them back (as an image deleted and a new one scanned)."""
    gone = np.arange(0, len(data), max(1, len(data) // 1000), dtype=np.int64)[:1000]
    if cand.remove is None:
        return "no (rebuild)", "-"
    started = time.perf_counter()
    cand.remove(index, gone)
    removed = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    if cand.add is not None:
        cand.add(index, gone, data[gone])
    added = (time.perf_counter() - started) * 1000
    return f"{removed:.0f}", f"{added:.0f}"


def print_header() -> None:
    head = (f"{'candidate':<22} {'setting':<11} {'build s':>8} {'file MiB':>9} {'RSS MiB':>8} "
            f"{'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9} {'x exact':>8} "
            f"{'rm 1k ms':>12} {'add 1k ms':>9}")
    print(head)
    print("-" * len(head))


def print_rows(rows: list[Row]) -> None:
    for r in rows:
        print(f"{r.name:<22} {r.setting:<11} {r.build_s:>8.1f} {r.file_mb:>9.0f} {r.rss_mb:>8.0f} "
              f"{r.p50:>7.2f} {r.p95:>7.2f} {r.recall:>9.3f} {r.speedup:>8.1f} "
              f"{r.remove_ms:>12} {r.add_ms:>9}", flush=True)


# ---------------------------------------------------------------- allowed-set crossover


def bench_allowed(data: np.ndarray, queries: np.ndarray, fractions: list[float]) -> None:
    """Search within an allowed id set: exact on the set's vectors vs ANN over-fetch + filter."""
    from usearch.index import Index

    index = Index(ndim=data.shape[1], metric="ip", dtype="f16", connectivity=16,
                  expansion_add=128, expansion_search=128)
    index.add(np.arange(len(data)), data, threads=BUILD_THREADS)
    rng = np.random.default_rng(7)
    queries = queries[:100]
    print(f"\nallowed-set search, usearch f16 ef>=128: exact within the set (vectors from "
          f"index.get / from RAM) vs ANN over-fetch of factor*k*n/|allowed| then filter "
          f"({len(queries)} queries, k={K})")
    head = (f"{'allowed':>8} {'exact(get) p50':>14} {'exact(mem) p50':>14}" + "".join(
        f" | {'factor':<3} {'p50':>8} {'p95':>7} {'recall':>7} {'fetched':>7}"
        for _ in OVERFETCH_FACTORS))
    print(head)
    print("-" * len(head))
    for fraction in fractions:
        allowed = np.sort(rng.choice(len(data), max(K, int(fraction * len(data))), replace=False))
        allowed_set = set(allowed.tolist())
        sub = data[allowed]
        truth = [allowed[np.argsort(-(sub @ q))[:K]] for q in queries]

        def exact_get(q: np.ndarray, allowed: np.ndarray = allowed) -> np.ndarray:
            vecs = np.stack(index.get(allowed, dtype="f32"))
            scores = vecs @ q
            return allowed[np.argsort(-scores)[:K]]

        def exact_mem(q: np.ndarray, allowed: np.ndarray = allowed) -> np.ndarray:
            scores = data[allowed] @ q
            return allowed[np.argsort(-scores)[:K]]

        t_get, _ = latencies(exact_get, queries, 1)
        t_mem, _ = latencies(exact_mem, queries, 1)
        line = f"{len(allowed):>8} {np.median(t_get):>14.2f} {np.median(t_mem):>14.2f}"
        for factor in OVERFETCH_FACTORS:
            fetch = int(min(len(data), max(4 * K, np.ceil(factor * K / fraction))))

            def overfetch(q: np.ndarray, fetch: int = fetch,
                          allowed_set: set[int] = allowed_set) -> np.ndarray:
                index.expansion_search = max(128, fetch)
                keys = index.search(q, fetch, threads=1).keys
                return np.array([k for k in keys.tolist() if k in allowed_set][:K])

            t_over, found = latencies(overfetch, queries, 1)
            line += (f" | x{factor:<2} {np.median(t_over):>8.2f} {np.percentile(t_over, 95):>7.2f}"
                     f" {recall(found, np.array(truth)):>7.3f} {fetch:>7}")
        print(line, flush=True)


# ---------------------------------------------------------------- open_index on a catalog


def bench_open(n: int, dim: int, centres: int, workdir: Path) -> None:
    """What opening the index of a real catalog costs: first build, unchanged, patched."""
    import logging

    from illudex.catalog import embeddings as embedding_rows
    from illudex.catalog.db import connect
    from illudex.index import vectors

    logging.basicConfig(level=logging.WARNING)
    data = make_data(n + 1000, dim, centres, seed=dim)
    conn = connect(workdir / "catalog.db")
    insert_embeddings(conn, np.arange(1, n + 1), data[:n])
    print(f"\nopen_index on a catalog of {n} x {dim} (usearch f16), seconds")

    def timed(label: str, action: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = action()
        print(f"  {label:<58} {time.perf_counter() - started:7.2f}", flush=True)
        return result

    timed("scan the embeddings' fingerprints (no generation table)",
          lambda: embedding_rows.fingerprints(conn, "m"))
    timed("read every vector from the catalog",
          lambda: sum(len(i) for i, _ in embedding_rows.batches(conn, "m", dim)))
    timed("first open: build from the catalog and save", lambda: vectors.open_index(
        workdir, conn, "m"))
    index = timed("open again, unchanged (generation matches: no scan)",
                  lambda: vectors.open_index(workdir, conn, "m"))
    timed("  first search (pages in the memory-mapped file)", lambda: index.search(data[0], 10))
    conn.execute("DELETE FROM images WHERE id <= 1000")
    insert_embeddings(conn, np.arange(n + 1, n + 1001), data[n:])
    timed("open after 1000 deleted + 1000 new (scan, patch, save)",
          lambda: vectors.open_index(workdir, conn, "m"))
    conn.close()


def insert_embeddings(conn: object, ids: np.ndarray, data: np.ndarray) -> None:
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO images (id, path, size, mtime_ns, digest, added_at, "
                     "scanned_at) VALUES (?, ?, 1, 1, 'd', 0, 0)",
                     ((int(i), f"/p/{int(i)}.png") for i in ids))
    conn.executemany("INSERT INTO embeddings VALUES (?, 'm', ?, ?)",
                     ((int(i), data.shape[1], v.tobytes()) for i, v in zip(ids, data,
                                                                             strict=True)))
    conn.execute("COMMIT")


# ---------------------------------------------------------------- main


def candidates(names: set[str] | None, n: int) -> list[Candidate]:
    nlist = int(2 ** round(np.log2(4 * np.sqrt(n))))
    everything = {
        "usearch-f32": lambda: usearch_candidate("f32"),
        "usearch-f16": lambda: usearch_candidate("f16"),
        "usearch-i8": lambda: usearch_candidate("i8"),
        "faiss-hnsw": faiss_hnsw_candidate,
        "faiss-ivf": lambda: faiss_ivf_candidate(nlist),
        "hnswlib": hnswlib_candidate,
    }
    return [make() for key, make in everything.items() if names is None or key in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[1024, 768])
    parser.add_argument("--centres", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="candidate keys, e.g. usearch-f16 hnswlib")
    parser.add_argument("--no-allowed", action="store_true", help="skip the allowed-set table")
    parser.add_argument("--allowed-only", action="store_true",
                        help="only the allowed-set table")
    parser.add_argument("--open-only", action="store_true",
                        help="only time open_index on a real catalog (build, reuse, patch)")
    args = parser.parse_args()
    if args.allowed_only:
        for dim in args.dims:
            data = make_data(args.n, dim, args.centres, seed=dim)
            bench_allowed(data, make_queries(data, args.queries, seed=dim), ALLOWED_FRACTIONS)
        return
    if args.open_only:
        for dim in args.dims:
            with tempfile.TemporaryDirectory() as tmp:
                bench_open(args.n, dim, args.centres, Path(tmp))
        return

    import faiss
    import hnswlib  # noqa: F401
    import usearch

    print(f"python {platform.python_version()}  numpy {np.__version__}  "
          f"usearch {usearch.__version__}  faiss {faiss.__version__}  "
          f"cpus {os.cpu_count()}  k={K}  queries={args.queries} x {args.passes} passes")
    for dim in args.dims:
        data = make_data(args.n, dim, args.centres, seed=dim)
        queries = make_queries(data, args.queries, seed=dim)
        truth = exact_topk(data, queries, K)
        nn = np.sort(queries @ data[:20000].T, axis=1)[:, ::-1]
        print(f"\n== n={args.n} dim={dim} centres={args.centres}: cosine of queries to their "
              f"1st/10th/1000th neighbour in a 20k sample: {nn[:, 0].mean():.2f} / "
              f"{nn[:, 9].mean():.2f} / {nn[:, 999].mean():.2f}")
        with tempfile.TemporaryDirectory() as tmp:
            exact_rows = bench_candidate(exact_candidate(), data, queries, truth, args.passes,
                                         Path(tmp), None)
            print_header()
            print_rows(exact_rows)
            exact_p50 = exact_rows[0].p50
            for cand in candidates(set(args.only) if args.only else None, args.n):
                print_rows(bench_candidate(cand, data, queries, truth, args.passes, Path(tmp),
                                           exact_p50))
        if not args.no_allowed and dim == args.dims[0]:
            bench_allowed(data, queries, ALLOWED_FRACTIONS)
        del data


if __name__ == "__main__":
    main()
