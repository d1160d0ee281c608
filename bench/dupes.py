#!/usr/bin/env python3
"""Near-duplicate benchmark: illudex's engine against imagededup's PHash, same run.

For each seed, builds (once) a labelled corpus with /work/shared/bench/make_dupes_corpus.py
into bench/.corpus/seedN, then runs both tools cold (every file decoded) and scores
them like score_dupes.py: precision / recall / F1 over duplicate pairs, alternate
pairs confused with duplicates, alternate pairs reported as alternates, seconds, and
the speed ratio (illudex time / PHash time; below 1 is faster), from the medians of
--repeats runs of each tool, alternating which goes first.

    .venv/bin/python bench/dupes.py --seeds 1,2,3,4,5 --n 400
    .venv/bin/python bench/dupes.py --kind lineart   # --lineart --alternates none corpora
    .venv/bin/python bench/dupes.py --corpus-dir /work/corpora/recolour1   # a prebuilt one
    .venv/bin/python bench/dupes.py --scale 50000     # engine alone on synthetic features

The "kept" column: groups whose suggested keeper is the original (the first file of
its truth group), of the groups found.

The illudex side runs the real `illudex dupes DIR --json` command: cold in a fresh
library (scan + compare), then three re-runs with nothing changed (the "re-run" column,
and cold/re-run as a ratio). `run_engine` is the engine alone, for profiling.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from illudex.dupes import features as dupe_features  # noqa: E402
from illudex.dupes.engine import DEFAULT_THRESHOLD, build_groups, find_relations  # noqa: E402
from illudex.imageio import DecodeError, decode, is_image_name  # noqa: E402

SHARED = Path("/work/shared/bench")
CORPORA = ROOT / "bench" / ".corpus"
LAST_LIBRARY = Path()


def _score_module():
    spec = importlib.util.spec_from_file_location("score_dupes", SHARED / "score_dupes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KINDS = {  # corpus kind: make_dupes_corpus.py options
    "mixed": [], "lineart": ["--lineart", "--alternates", "none"],
    "recolour": ["--alternates", "recolour"], "linemixed": ["--lineart"],
}


def ensure_corpus(seed: int, n: int, src: Path, kind: str = "mixed") -> Path:
    out = CORPORA / (f"seed{seed}" if kind == "mixed" else f"{kind}{seed}")
    if (out / "truth.json").exists():
        return out
    if not src.is_dir():
        subprocess.run(["apt-get", "download", "openclipart-png"], cwd=CORPORA, check=False)
        debs = sorted(CORPORA.glob("openclipart-png_*.deb"))
        if not debs:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "download", "openclipart-png"], cwd=CORPORA, check=True)
            debs = sorted(CORPORA.glob("openclipart-png_*.deb"))
        src.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(debs[0]), str(src)], check=True)
    subprocess.run([sys.executable, str(SHARED / "make_dupes_corpus.py"), str(out),
                    "--seed", str(seed), "--n", str(n), "--src", str(src), *KINDS[kind]],
                   check=True)
    return out


def _extract(path: str) -> tuple[str, bytes | None]:
    try:
        return path, dupe_features.extract(decode(path).image)
    except DecodeError:
        return path, None


Answer = tuple[list[list[str]], list[list[str]], list[str]]  # groups, alternates, keepers


def run_illudex(image_dir: Path, threshold: float) -> Answer:
    """Groups and alternate pairs (file names) from the real command, cold: a fresh
    library, so every file is read, hashed, decoded and compared. The library is kept in
    LAST_LIBRARY for a warm re-run."""
    global LAST_LIBRARY
    LAST_LIBRARY = Path(tempfile.mkdtemp(prefix="illudex-bench-"))
    return _illudex_cli(image_dir, threshold, LAST_LIBRARY)


def rerun_illudex(image_dir: Path, threshold: float) -> float:
    """Seconds for the same command again on the library the cold run made (nothing changed)."""
    t = time.perf_counter()
    _illudex_cli(image_dir, threshold, LAST_LIBRARY)
    return time.perf_counter() - t


def _illudex_cli(image_dir: Path, threshold: float, library: Path) -> Answer:
    illudex = str(Path(sys.executable).with_name("illudex"))
    # As a user runs it: Python caches compiled modules (some sandboxes switch that off).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [illudex, "dupes", str(image_dir), "--json", "--threshold", str(threshold),
         "--library", str(library)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    found = json.loads(out)
    groups = [sorted(os.path.basename(f) for f in g["files"]) for g in found["groups"]]
    alternates = [[os.path.basename(a), os.path.basename(b)] for a, b in found["alternates"]]
    keepers = [os.path.basename(g["keep"]) for g in found["groups"]]
    return groups, alternates, keepers


def originals_kept(truth: dict, groups: list[list[str]], keepers: list[str]) -> tuple[int, int]:
    """(groups whose keeper is the original, groups found that hold an original): the
    original of a found group is the first file of the truth group most of it is from."""
    root = {os.path.basename(x): g[0] for g in truth["groups"] for x in g}
    kept = counted = 0
    for files, keep in zip(groups, keepers, strict=True):
        original = group_original(files, root)
        if original is not None and original in files:
            counted += 1
            kept += keep == original
    return kept, counted


def group_original(files: list[str], root: dict[str, str]) -> str | None:
    """The original of a found group (file names): the first file of the truth group
    most of it comes from (ties: the last name); None if none of it is labelled."""
    roots = [root[f] for f in files if f in root]
    return max(set(roots), key=lambda r: (roots.count(r), r)) if roots else None


def run_engine(image_dir: Path, threshold: float) -> tuple[list[list[str]], list[list[str]]]:
    """The engine alone, without the catalog (for profiling): decode + features with 2
    worker processes, then candidates, verification, groups."""
    files = sorted(str(image_dir / f) for f in os.listdir(image_dir) if is_image_name(f))
    with Pool(2) as pool:
        extracted = pool.map(_extract, files, chunksize=16)
    items = [(i, data) for i, (_, data) in enumerate(extracted) if data is not None]
    relations = find_relations(items, threshold=threshold)
    groups, alternates = build_groups([i for i, _ in items], relations, {})
    name = [os.path.basename(p) for p, _ in extracted]
    return ([[name[i] for i in g] for g in groups],
            [[name[a], name[b]] for a, b in alternates])


def run_phash(image_dir: Path) -> list[list[str]]:
    from imagededup.methods import PHash

    found = PHash(verbose=False).find_duplicates(image_dir=str(image_dir))
    return _components(found)


def _components(neighbours: dict[str, list[str]]) -> list[list[str]]:
    parent = {k: k for k in neighbours}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, others in neighbours.items():
        for b in others:
            parent.setdefault(b, b)
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    comps: dict[str, list[str]] = {}
    for x in parent:
        comps.setdefault(find(x), []).append(x)
    return sorted(sorted(c) for c in comps.values() if len(c) > 1)


def score(truth: dict, groups: list[list[str]], alternates: list[list[str]], sd) -> dict:
    t, f = sd.pairs(truth["groups"]), sd.pairs(groups)
    alts = {tuple(sorted(a)) for a in truth["alternates"]}
    root = {os.path.basename(x): g[0] for g in truth["groups"] for x in g}

    def roots(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        return {tuple(sorted((root.get(a, a), root.get(b, b)))) for a, b in pairs}

    tp = len(t & f)
    p = tp / len(f) if f else 0.0
    r = tp / len(t) if t else 0.0
    reported_alts = roots({tuple(sorted(os.path.basename(x) for x in pair)) for pair in alternates})
    return {
        "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "alt_confused": len(roots(f) & alts), "alt_total": len(alts),
        "alt_reported": len(reported_alts & alts),
        # Of the alternate pairs shown (between groups), how many the truth calls alternates.
        "alt_shown": len(reported_alts), "alt_precision": (
            len(reported_alts & alts) / len(reported_alts) if reported_alts else 1.0),
    }


def _warm(image_dir: Path) -> None:
    """Read every file once so that both tools start from the same page cache."""
    for f in sorted(os.listdir(image_dir)):
        with open(image_dir / f, "rb") as fh:
            while fh.read(1 << 20):
                pass


def bench_seed(seed: int | str, n: int, src: Path, threshold: float, repeats: int, sd,
               kind: str = "mixed", corpus: Path | None = None) -> list[dict]:
    """Both tools `repeats` times, alternating which goes first; medians of the times
    (the answers are deterministic: scored once)."""
    corpus = corpus or ensure_corpus(int(seed), n, src, kind)
    truth = json.loads((corpus / "truth.json").read_text())
    images = corpus / "images"
    _warm(images)
    times: dict[str, list[float]] = {"phash": [], "illudex": []}
    answers: dict[str, tuple] = {}
    for r in range(repeats):
        order = ("phash", "illudex") if r % 2 == 0 else ("illudex", "phash")
        for tool in order:
            t = time.perf_counter()
            answers[tool] = (run_phash(images), [], []) if tool == "phash" else run_illudex(
                images, threshold)
            times[tool].append(time.perf_counter() - t)
    t_phash, t_illudex = (float(np.median(times[k])) for k in ("phash", "illudex"))
    t_warm = float(np.median([rerun_illudex(images, threshold) for _ in range(5)]))
    shutil.rmtree(LAST_LIBRARY, ignore_errors=True)
    groups, alternates, keepers = answers["illudex"]
    return [
        {"seed": seed, "tool": "imagededup PHash", "seconds": t_phash,
         **score(truth, *answers["phash"][:2], sd)},
        {"seed": seed, "tool": "illudex", "seconds": t_illudex, "ratio": t_illudex / t_phash,
         "warm": t_warm, "kept": originals_kept(truth, groups, keepers),
         **score(truth, groups, alternates, sd)},
    ]


def print_table(rows: list[dict]) -> None:
    head = (f"{'seed':>4}  {'tool':<17}{'prec':>7}{'recall':>8}{'F1':>7}"
            f"{'alt conf':>10}{'alt rep':>9}{'alt prec':>9}{'kept':>10}{'seconds':>9}{'ratio':>7}"
            f"{'re-run':>8}{'cold/re':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        conf = f"{r['alt_confused']}/{r['alt_total']}"
        rep = f"{r['alt_reported']}/{r['alt_total']}" if r["tool"] == "illudex" else "-"
        alt_prec = (f"{r['alt_reported']}/{r['alt_shown']}" if r["tool"] == "illudex" else "-")
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        kept = "{}/{}".format(*r["kept"]) if "kept" in r else "-"
        warm = f"{r['warm']:>8.2f}{r['seconds'] / r['warm']:>7.0f}x" if "warm" in r else ""
        print(f"{r['seed']!s:>4}  {r['tool']:<17}{r['precision']:>7.3f}{r['recall']:>8.3f}"
              f"{r['f1']:>7.3f}{conf:>10}{rep:>9}{alt_prec:>9}{kept:>10}{r['seconds']:>9.2f}"
              f"{ratio:>7}{warm}")
    ill = [r for r in rows if r["tool"] == "illudex"]
    if ill:
        kept = [r["kept"][0] / max(r["kept"][1], 1) for r in ill]
        print(f"illudex: original kept {min(kept):.1%} (worst seed), "
              f"min F1 {min(r['f1'] for r in ill):.3f}, "
              f"median ratio to PHash {np.median([r['ratio'] for r in ill]):.2f} "
              "(below 1: faster), "
              f"median cold/re-run {np.median([r['seconds'] / r['warm'] for r in ill]):.0f}x")


# --- scale: the engine alone on many synthetic pictures ----------------------------------

def synthetic_items(count: int, seed: int = 0) -> list[tuple[int, bytes]]:
    """Distinct smooth random 'drawings' (blobs on white), a few with an edited copy."""
    import cv2
    from PIL import Image

    rng = np.random.default_rng(seed)
    items: list[tuple[int, bytes]] = []
    prev = np.zeros((96, 96, 3), np.uint8)
    for i in range(count):
        noise = rng.random((12, 12)).astype(np.float32)
        big = cv2.resize(noise, (96, 96), interpolation=cv2.INTER_CUBIC)
        ink = big > 0.55
        rgb = np.full((96, 96, 3), 255, np.uint8)
        rgb[ink] = rng.integers(0, 200, 3)
        if i % 10 == 1:  # a brightened copy of the previous drawing
            rgb = np.clip(prev.astype(np.int16) + 12, 0, 255).astype(np.uint8)
        items.append((i, dupe_features.extract(Image.fromarray(rgb))))
        prev = rgb
    return items


def bench_scale(count: int, threshold: float) -> None:
    import psutil

    t = time.perf_counter()
    items = synthetic_items(count)
    made = time.perf_counter() - t
    rss0 = psutil.Process().memory_info().rss
    t = time.perf_counter()
    relations = find_relations(items, threshold=threshold)
    groups, _ = build_groups([i for i, _ in items], relations, {})
    took = time.perf_counter() - t
    peak = _peak_rss()
    print(f"scale: {count} pictures ({sum(len(b) for _, b in items) / count:.0f} B of features "
          f"each, made in {made:.1f} s): engine {took:.1f} s, {len(relations)} relations, "
          f"{len(groups)} groups; RSS before {rss0 / 2**20:.0f} MiB, peak {peak:.0f} MiB")


def _peak_rss() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--n", type=int, default=400, help="originals per corpus")
    ap.add_argument("--src", type=Path, default=CORPORA / "_src",
                    help="unpacked openclipart-png (fetched there if missing)")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per tool (median)")
    ap.add_argument("--scale", type=int, default=0, help="only run the engine on N synthetic")
    ap.add_argument("--kind", choices=sorted(KINDS), default="mixed",
                    help="corpus kind to build per seed (make_dupes_corpus.py options)")
    ap.add_argument("--corpus-dir", type=Path, action="append", default=[],
                    help="a prebuilt corpus (images/ + truth.json) instead of seeds; repeatable")
    a = ap.parse_args()
    if a.scale:
        bench_scale(a.scale, a.threshold)
        return
    CORPORA.mkdir(parents=True, exist_ok=True)
    sd = _score_module()
    rows = []
    runs = [(d.name, d) for d in a.corpus_dir] or [
        (int(s), None) for s in a.seeds.split(",") if s]
    for seed, corpus in runs:
        rows += bench_seed(seed, a.n, a.src, a.threshold, a.repeats, sd, a.kind, corpus)
        print_table(rows[-2:])
        sys.stdout.flush()
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
