"""Benchmark of illudex clustering: quality against a plain k-means peer, and speed at 100k.

Quality: images' tag sets are generated from known "characters" (each a hair colour,
eye colour, outfit and copyright), with Zipf-distributed shared general tags, tag
dropout, wrong tags and aliases in use. Adjusted Rand index and NMI against the truth
are printed for illudex (default options, k auto) beside scikit-learn KMeans on the raw
tag counts with the true k (the peer), over several seeds, in the same run.

Speed: 100 000 such images clustered by tags with k chosen automatically; each repeat
runs in a fresh process so its peak RSS is the clustering's own.

    .venv/bin/python bench/cluster.py            # both parts
    .venv/bin/python bench/cluster.py --no-speed # quality only
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from illudex.catalog.db import connect
from illudex.cluster import ClusterOptions, cluster_images

HAIR = ["blonde_hair", "black_hair", "brown_hair", "red_hair", "blue_hair", "pink_hair",
        "white_hair", "silver_hair", "green_hair", "purple_hair", "orange_hair", "grey_hair"]
EYES = ["blue_eyes", "red_eyes", "green_eyes", "brown_eyes", "purple_eyes", "yellow_eyes",
        "black_eyes", "grey_eyes", "pink_eyes", "orange_eyes"]
OUTFITS = ["school_uniform", "serafuku", "maid", "kimono", "swimsuit", "armor", "dress",
           "hoodie", "military_uniform", "gym_uniform", "bodysuit", "nurse", "witch_hat",
           "china_dress", "suit"]
COPYRIGHTS = ["kantai_collection", "touhou", "fate/grand_order", "genshin_impact",
              "blue_archive", "hololive", "azur_lane", "idolmaster", "vocaloid", "arknights"]
# canonical → alias spelling that some images use instead
ALIASES = {"blonde_hair": "blond_hair", "grey_hair": "gray_hair", "serafuku": "sailor_uniform",
           "kantai_collection": "kancolle", "grey_eyes": "gray_eyes",
           "fate/grand_order": "fgo", "touhou": "touhou_project", "maid": "maid_outfit"}
GENERAL = ["1girl", "solo", "looking_at_viewer", "smile", "long_hair", "blush", "open_mouth",
           "simple_background", "white_background", "short_hair", "bangs", "upper_body",
           "closed_mouth", "standing", "hair_ornament", "sitting", "holding", "outdoors",
           "full_body", "sky"] + [f"general_{i:03d}" for i in range(280)]


@dataclass
class Dataset:
    tags: list[list[str]]  # per image, as written (aliases possibly used)
    truth: np.ndarray  # character index per image
    n_characters: int


def make_characters(n: int, rng: np.random.Generator) -> list[list[str]]:
    chars: set[tuple[str, ...]] = set()
    while len(chars) < n:
        chars.add((str(rng.choice(HAIR)), str(rng.choice(EYES)), str(rng.choice(OUTFITS)),
                   str(rng.choice(COPYRIGHTS))))
    return [list(c) for c in sorted(chars)]


def make_dataset(n_images: int, n_characters: int, seed: int) -> Dataset:
    """Tag sets from known characters, unequal sizes, noise, dropout and aliases."""
    rng = np.random.default_rng(seed)
    chars = make_characters(n_characters, rng)
    weights = rng.uniform(0.4, 1.6, n_characters)
    truth = rng.choice(n_characters, size=n_images, p=weights / weights.sum())
    zipf = 1.0 / np.arange(1, len(GENERAL) + 1) ** 1.1
    zipf /= zipf.sum()
    wrong_pool = HAIR + EYES + OUTFITS
    tags = []
    for c in truth:
        core = [t for t in chars[c] if rng.random() > 0.25]  # dropout
        general = rng.choice(GENERAL, size=2 + rng.poisson(8), replace=False, p=zipf)
        noise = [str(rng.choice(wrong_pool))] if rng.random() < 0.3 else []
        image = [*core, *map(str, general), *noise]
        tags.append(sorted({ALIASES[t] if t in ALIASES and rng.random() < 0.4 else t
                            for t in image}))
    return Dataset(tags, truth, n_characters)


def write_catalog(path: Path, data: Dataset) -> list[int]:
    """A real catalog with the images, their tags (sidecar source) and the aliases."""
    conn = connect(path)
    names = sorted({t for ts in data.tags for t in ts} | set(ALIASES))
    tag_id = {name: i + 1 for i, name in enumerate(names)}
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tags(id, name, category) VALUES (?, ?, ?)",
                     [(i, n, "copyright" if n in COPYRIGHTS else "general")
                      for n, i in tag_id.items()])
    conn.executemany("INSERT INTO tag_aliases(alias, tag_id) VALUES (?, ?)",
                     [(alias, tag_id[canon]) for canon, alias in ALIASES.items()])
    conn.executemany(
        "INSERT INTO images(id, path, size, mtime_ns, digest, added_at, scanned_at) "
        "VALUES (?, ?, 1, 0, ?, 0, 0)",
        [(i + 1, f"/pictures/img_{i:06d}.png", f"{i:032x}") for i in range(len(data.tags))])
    conn.executemany(
        "INSERT INTO image_tags(image_id, tag_id, source) VALUES (?, ?, 'sidecar')",
        [(i + 1, tag_id[t]) for i, ts in enumerate(data.tags) for t in ts])
    conn.execute("COMMIT")
    conn.close()
    return list(range(1, len(data.tags) + 1))


def illudex_labels(path: Path, ids: list[int], options: ClusterOptions) -> tuple[np.ndarray, dict]:
    conn = connect(path)
    result = cluster_images(conn, ids, options)
    conn.close()
    of = result.cluster_of()
    # Outliers and missing images count as one more group against the truth.
    return np.array([of.get(i, -1) for i in ids]), result.metrics


def peer_labels(data: Dataset, seed: int) -> np.ndarray:
    counts = CountVectorizer(analyzer=lambda tags: tags).fit_transform(data.tags)
    return KMeans(n_clusters=data.n_characters, random_state=seed).fit(counts).labels_


def quality(n_images: int, n_characters: int, seeds: list[int]) -> None:
    print(f"## Quality: {n_images} images from {n_characters} characters, seeds {seeds}")
    print("| seed | illudex ARI | peer ARI | illudex NMI | peer NMI | illudex k |")
    print("|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            data = make_dataset(n_images, n_characters, seed)
            path = Path(tmp) / f"q{seed}.sqlite"
            ids = write_catalog(path, data)
            ours, metrics = illudex_labels(path, ids, ClusterOptions(seed=seed))
            peer = peer_labels(data, seed)
            row = (adjusted_rand_score(data.truth, ours), adjusted_rand_score(data.truth, peer),
                   normalized_mutual_info_score(data.truth, ours),
                   normalized_mutual_info_score(data.truth, peer), metrics["k"])
            rows.append(row)
            print(f"| {seed} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} | {row[3]:.3f} "
                  f"| {row[4]} |")
    med = [statistics.median(r[i] for r in rows) for i in range(5)]
    print(f"| median | {med[0]:.3f} | {med[1]:.3f} | {med[2]:.3f} | {med[3]:.3f} | {med[4]} |")
    print(f"ARI ratio illudex/peer (median): {med[0] / med[1]:.2f}; "
          f"NMI ratio: {med[2] / med[3]:.2f}")


def timed_run(path: str) -> None:
    """Child process: cluster the whole catalog once; print seconds, peak RSS, k and ARI."""
    conn = connect(path)
    ids = [r[0] for r in conn.execute("SELECT id FROM images ORDER BY id")]
    started = time.perf_counter()
    result = cluster_images(conn, ids, ClusterOptions(seed=0))
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth = np.load(Path(path).with_suffix(".truth.npy"))
    of = result.cluster_of()
    found = np.array([of.get(i, -1) for i in ids])
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "k": result.metrics["k"],
                      "k_tried": len(result.metrics["k_scores"]),
                      "ari": adjusted_rand_score(truth, found)}))


def speed(n_images: int, n_characters: int, repeats: int) -> None:
    print(f"\n## Speed: {n_images} images by tags, k auto, {repeats} repeats (fresh process)")
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(n_images, n_characters, seed=7)
        path = Path(tmp) / "big.sqlite"
        write_catalog(path, data)
        np.save(path.with_suffix(".truth.npy"), data.truth)
        runs = []
        for _ in range(repeats):
            out = subprocess.run([sys.executable, __file__, "--timed-run", str(path)],
                                 check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
            print(f"run: {runs[-1]['seconds']:.1f} s, peak RSS {runs[-1]['peak_rss_mb']:.0f} MB, "
                  f"k={runs[-1]['k']} ({runs[-1]['k_tried']} k tried), "
                  f"ARI {runs[-1]['ari']:.3f}")
    secs = statistics.median(r["seconds"] for r in runs)
    rss = statistics.median(r["peak_rss_mb"] for r in runs)
    print(f"median: {secs:.1f} s (limit 120 s), peak RSS {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1500)
    parser.add_argument("--characters", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--timed-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.timed_run:
        timed_run(args.timed_run)
        return
    if not args.no_quality:
        quality(args.images, args.characters, list(range(args.seeds)))
    if not args.no_speed:
        speed(args.big, args.characters, args.repeats)


if __name__ == "__main__":
    main()
