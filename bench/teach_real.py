"""Teaching a tag through the real path on a real image embedding: drawn pictures,
embedded by the ResNet-18 of the `anime-or-not` wheel (its pooled 512-d feature, via
`illudex embed --model FOLDER`), taught with `Library.teach_tag`, against
nearest-centroid on the same stored vectors.

The pictures are drawn here (random shapes on random backgrounds); a tag is true where
the drawing holds its motif: `red_disc` (a large filled red circle) or `stripes` (black
diagonal stripes over part of the picture), each in ~15 % of pictures. An ImageNet-like
CNN feature on simple drawings: a real embedding, not an anime tagger's.

    .venv/bin/pip download --no-deps anime-or-not -d .cache/test-models   # once
    .venv/bin/python bench/teach_real.py --n 400 --seeds 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from illudex.analysers.runner import load_embeddings
from illudex.learn import classifier
from illudex.library import Library

CONFIG = {"kind": "embedder", "layout": "NCHW", "size": 224, "resize": "squash",
          "colours": "RGB", "scale": 255, "mean": [0.485, 0.456, 0.406],
          "std": [0.229, 0.224, 0.225], "output": "penultimate", "name": "resnet18"}


def draw(rng: random.Random, motifs: set[str]) -> Image.Image:
    im = Image.new("RGB", (256, 256), tuple(rng.randint(120, 255) for _ in range(3)))
    d = ImageDraw.Draw(im)
    for _ in range(rng.randint(3, 7)):
        x, y = rng.randint(0, 200), rng.randint(0, 200)
        colour = (rng.randint(0, 200), rng.randint(60, 255), rng.randint(60, 255))
        shape = rng.choice((d.rectangle, d.ellipse))
        shape((x, y, x + rng.randint(20, 80), y + rng.randint(20, 80)), fill=colour,
              outline=(20, 20, 20), width=2)
    if "red_disc" in motifs:
        x, y, r = rng.randint(40, 180), rng.randint(40, 180), rng.randint(30, 50)
        d.ellipse((x - r, y - r, x + r, y + r), fill=(220, 20, 20))
    if "stripes" in motifs:
        x0 = rng.randint(0, 100)
        for k in range(0, 160, 16):
            d.line((x0 + k, 0, x0 + k + 100, 256), fill=(0, 0, 0), width=5)
    return im


def make_library(root: Path, n: int, wheel: Path) -> tuple[Library, dict[str, set[int]]]:
    rng = random.Random(0)
    art = root / "art"
    art.mkdir()
    truth_paths: dict[str, set[str]] = {"red_disc": set(), "stripes": set()}
    for i in range(n):
        motifs = {m for m in truth_paths if rng.random() < 0.15}
        path = art / f"p{i:04d}.png"
        draw(rng, motifs).save(path)
        for m in motifs:
            truth_paths[m].add(str(path))
    model = root / "resnet18"
    model.mkdir()
    with zipfile.ZipFile(wheel) as w:
        name = next(x for x in w.namelist() if x.endswith(".onnx"))
        (model / "model.onnx").write_bytes(w.read(name))
    (model / "illudex.json").write_text(json.dumps(CONFIG))
    lib = Library.open(root / "library")
    lib.scan([art])
    lib.models.embed([art], model=str(model))
    rows = lib.images(lib.image_ids([art]))
    truth = {m: {i for i, r in rows.items() if r.path in paths} for m, paths in truth_paths.items()}
    return lib, truth


def one_round(lib: Library, truth: set[int], tag: str, k: int, rng: np.random.Generator,
              ids: np.ndarray, vectors: np.ndarray) -> dict[str, tuple[float, float]]:
    yes = [int(i) for i in rng.choice(sorted(truth), k, replace=False)]
    no = [int(i) for i in rng.choice(sorted(set(ids.tolist()) - truth), k, replace=False)]
    result, _ = lib.models.teach(tag, yes, no, model="resnet18")
    examples = set(yes) | set(no)
    pool = np.array([i for i in ids.tolist() if i not in examples])
    real = np.isin(pool, sorted(truth))
    learned = np.array([result.scores[int(i)] >= 0.5 for i in pool])
    row = {int(i): n for n, i in enumerate(ids)}
    y = np.array([1] * k + [0] * k)
    x = vectors[[row[i] for i in yes + no]]
    centroid = classifier.centroid_scores(x, y, vectors[[row[int(i)] for i in pool]]) > 0
    cv = result.cross_validation
    return {"illudex": classifier.precision_recall(learned, real),
            "centroid": classifier.precision_recall(centroid, real),
            "cv estimate": (cv.precision, cv.recall)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--wheels", type=Path, default=Path(".cache/test-models"))
    args = parser.parse_args()
    wheel = sorted(args.wheels.glob("anime_or_not-*.whl"))[-1]
    with tempfile.TemporaryDirectory() as tmp:
        lib, truths = make_library(Path(tmp), args.n, wheel)
        ids, vectors = load_embeddings(lib.conn, "resnet18")
        print(f"{len(ids)} pictures, resnet18 {vectors.shape[1]}-d; "
              + ", ".join(f"{m}: {len(t)}" for m, t in truths.items()))
        for k in (5, 10, 20):
            got: dict[str, list[tuple[float, float]]] = {}
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                for tag, truth in truths.items():
                    for name, pr in one_round(lib, truth, tag, k, rng, ids, vectors).items():
                        got.setdefault(name, []).append(pr)
            print(f"  {k:>2} yes + {k:>2} no   " + "  ".join(
                f"{name}: P {statistics.mean(p for p, _ in v):.3f} "
                f"R {statistics.mean(r for _, r in v):.3f}" for name, v in got.items()))
        lib.close()


if __name__ == "__main__":
    main()
