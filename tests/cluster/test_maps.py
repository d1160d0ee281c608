"""The 2D map: deterministic coordinates in [0, 1], and a PNG with a colour per cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from illudex.cluster import Cluster, ClusterResult, save_map_png
from illudex.cluster.maps import compute_map, palette, render_map


def _groups(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(3, 8))
    labels = np.repeat(np.arange(3), 20)
    return centres[labels] + rng.normal(size=(60, 8)), labels


def test_tsne_and_pca_maps_are_deterministic_and_normalised() -> None:
    X, labels = _groups()
    ids = np.arange(100, 160)
    for method in ("tsne", "pca"):
        first = compute_map(X, ids, labels, method, seed=3)
        again = compute_map(X, ids, labels, method, seed=3)
        assert first.method == method
        assert np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
        assert first.x.min() == 0.0 and first.x.max() == 1.0
        assert first.y.min() >= 0.0 and first.y.max() <= 1.0
        # Groups stay apart: each group's centre is far from the others'.
        centres = np.array([[first.x[labels == c].mean(), first.y[labels == c].mean()]
                            for c in range(3)])
        spread = max(first.x[labels == c].std() for c in range(3))
        gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a)]
        assert min(gaps) > 2 * spread


def test_auto_picks_by_size_and_tiny_sets_work() -> None:
    X, labels = _groups()
    assert compute_map(X, np.arange(60), labels).method == "tsne"
    tiny = compute_map(X[:3], np.arange(3), labels[:3], "tsne")
    assert tiny.method == "pca" and len(tiny.x) == 3


def test_png_shows_each_cluster_colour_and_grey_outliers(tmp_path: Path) -> None:
    X, labels = _groups()
    labels = labels.copy()
    labels[0] = -1
    ids = np.arange(60)
    clusters = [Cluster(c, [f"tag_{c}"], ids[labels == c].tolist(), []) for c in range(3)]
    result = ClusterResult(clusters, [0], [], [], [], {})
    result.map = compute_map(X, ids, labels, "pca")
    path = save_map_png(result, tmp_path / "map.png", size=400)
    image = Image.open(path).convert("RGB")
    assert image.size == (400, 400)
    colours = {c for _, c in image.getcolors(maxcolors=1 << 16)}
    assert set(palette(3)) <= colours and (170, 170, 170) in colours
    assert render_map(result, 400).tobytes() == image.tobytes()  # same input, same picture
