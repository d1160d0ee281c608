"""Benchmark of teaching a tag: precision/recall after 5, 10 and 20 examples per class,
illudex's calibrated logistic regression against nearest-centroid on the same embeddings.

The corpus is synthetic and says so: pictures are drawn from "characters" (hair, eyes,
outfit, copyright, as in bench/cluster.py) and each picture's embedding is the sum of
random unit directions for the attributes visible in it (each hidden with p=0.3), a few
Zipf-distributed general tags at half weight, and Gaussian noise, L2-normalised. A tag
(e.g. `red_hair`) is true where the attribute is visible. This models an embedding in
which concepts are roughly linear, as in a tagger's penultimate layer; it is not a real
image model. Suggestions are the pool pictures scoring >= 0.5 (centroid: > 0).

    .venv/bin/python bench/teach.py            # default: 3000 pictures, 256-d, 5 seeds
    .venv/bin/python bench/teach.py --c 0.1 --c 1 --c 10   # the regularisation sweep
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from illudex.learn import classifier
from illudex.learn.classifier import Scaling

ATTRIBUTES = {"hair": 12, "eyes": 10, "outfit": 15, "copyright": 10}
BACKGROUND = classifier.BACKGROUND
CONCEPTS = [("hair", 0), ("hair", 3), ("outfit", 1), ("outfit", 7), ("eyes", 2)]


def make_corpus(n: int, dim: int, noise: float, seed: int) -> tuple[np.ndarray, dict]:
    """(embeddings [n, dim], truth {(attribute, value): bool mask})."""
    rng = np.random.default_rng(seed)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    directions = {a: unit(rng.normal(size=(k, dim))) for a, k in ATTRIBUTES.items()}
    general = unit(rng.normal(size=(300, dim)))
    characters = {a: rng.integers(0, k, 80) for a, k in ATTRIBUTES.items()}
    who = rng.integers(0, 80, n)
    x = rng.normal(scale=noise, size=(n, dim))
    truth = {}
    for a in ATTRIBUTES:
        visible = rng.random(n) > 0.3
        value = characters[a][who]
        x += directions[a][value] * visible[:, None]
        for v in range(ATTRIBUTES[a]):
            truth[(a, v)] = visible & (value == v)
    zipf = np.minimum(rng.zipf(1.5, size=(n, 5)), 300) - 1
    x += 0.5 * general[zipf].sum(axis=1)
    return unit(x).astype(np.float32), truth


def one_round(x: np.ndarray, truth: np.ndarray, k: int, rng: np.random.Generator,
              ) -> dict[str, tuple[float, float]]:
    yes = rng.choice(np.flatnonzero(truth), k, replace=False)
    no = rng.choice(np.flatnonzero(~truth), k, replace=False)
    examples = np.concatenate([yes, no])
    pool = np.setdiff1d(np.arange(len(x)), examples)
    scaled = Scaling.of(x)(x)
    y = np.array([1] * k + [0] * k)
    others = pool if BACKGROUND else pool[:0]
    picked = rng.choice(others, min(BACKGROUND, len(others)), replace=False)
    bg = scaled[picked]
    model = classifier.fit(scaled[examples], y, bg)
    learned = classifier.scores(model, scaled[pool]) >= 0.5
    centroid = classifier.centroid_scores(x[examples], y, x[pool]) > 0
    # The same baseline given the same background 'no's as illudex (a fairer peer).
    with_bg = np.concatenate([examples, picked])
    y_bg = np.concatenate([y, np.zeros(len(picked), y.dtype)])
    centroid_bg = classifier.centroid_scores(x[with_bg], y_bg, x[pool]) > 0
    cv = classifier.cross_validate(scaled[examples], y, bg)
    return {
        "illudex": classifier.precision_recall(learned, truth[pool]),
        "centroid": classifier.precision_recall(centroid, truth[pool]),
        "centroid+bg": classifier.precision_recall(centroid_bg, truth[pool]),
        "cv estimate": (cv.precision, cv.recall),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--noise", type=float, default=0.12)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--c", type=float, action="append")
    parser.add_argument("--background", type=int, default=classifier.BACKGROUND)
    parser.add_argument("--bg-weight", type=float, default=classifier.BACKGROUND_WEIGHT)
    args = parser.parse_args()
    global BACKGROUND
    BACKGROUND = args.background
    classifier.BACKGROUND_WEIGHT = args.bg_weight
    for c in args.c or [classifier._C]:
        classifier._C = c
        print(f"C={c} background={BACKGROUND}x{args.bg_weight}  n={args.n} dim={args.dim} "
              f"noise={args.noise} seeds={args.seeds} concepts={len(CONCEPTS)}")
        for k in (5, 10, 20):
            got: dict[str, list[tuple[float, float]]] = {}
            for seed in range(args.seeds):
                x, truths = make_corpus(args.n, args.dim, args.noise, seed)
                rng = np.random.default_rng(1000 + seed)
                for concept in CONCEPTS:
                    for name, pr in one_round(x, truths[concept], k, rng).items():
                        got.setdefault(name, []).append(pr)
            cells = "  ".join(
                f"{name}: P {statistics.mean(p for p, _ in v):.3f} "
                f"R {statistics.mean(r for _, r in v):.3f}" for name, v in got.items())
            print(f"  {k:>2} yes + {k:>2} no   {cells}")


if __name__ == "__main__":
    main()
