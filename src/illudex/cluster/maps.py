"""A 2D map of a clustering: coordinates per image, and a PNG drawn with Pillow.

t-SNE for small sets (it shows local groups well but costs O(n log n) with a large
constant), PCA for large ones; both deterministic for a given seed. Coordinates are
scaled to [0, 1] so the web UI can draw them at any size.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from PIL import Image, ImageDraw, ImageFont
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.manifold import TSNE

from illudex.cluster.errors import ClusterError
from illudex.cluster.result import ClusterResult, MapData

TSNE_UP_TO = 2_000  # 'auto' uses t-SNE up to this many images, PCA beyond
_PRE_DIMS = 50  # t-SNE runs on a PCA/SVD reduction to this many dimensions
_OUTLIER_COLOUR = (170, 170, 170)


def compute_map(
    X: np.ndarray | sp.csr_matrix,
    image_ids: np.ndarray,
    clusters: np.ndarray,
    method: str = "auto",
    seed: int = 0,
) -> MapData:
    """2D coordinates in [0, 1] for each row of `X`; `clusters[i]` is row i's cluster."""
    n = X.shape[0]
    if method == "auto":
        method = "tsne" if n <= TSNE_UP_TO else "pca"
    if n < 5:
        method = "pca"  # t-SNE needs more points than its perplexity
    reduced = _reduce(X, min(_PRE_DIMS if method == "tsne" else 2, n, X.shape[1]), seed)
    if method == "tsne":
        perplexity = float(min(30.0, (n - 1) / 3.0))
        xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                  learning_rate="auto").fit_transform(reduced)
    else:
        xy = reduced
    xy = _to_unit_square(xy)
    return MapData(np.asarray(image_ids), xy[:, 0], xy[:, 1], np.asarray(clusters), method)


def _reduce(X: np.ndarray | sp.csr_matrix, dims: int, seed: int) -> np.ndarray:
    if dims >= X.shape[1] and not sp.issparse(X):
        return np.asarray(X, dtype=np.float64)
    if sp.issparse(X):
        dims = min(dims, X.shape[1] - 1)
        if dims < 1:
            return np.asarray(X.toarray(), dtype=np.float64)
        return TruncatedSVD(n_components=dims, random_state=seed).fit_transform(X)
    return PCA(n_components=dims, random_state=seed, svd_solver="full").fit_transform(X)


def _to_unit_square(xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(xy, dtype=np.float64)
    if xy.shape[1] == 1:
        xy = np.hstack([xy, np.zeros_like(xy)])
    low, span = xy.min(axis=0), np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    return (xy - low) / span


def palette(n: int) -> list[tuple[int, int, int]]:
    """n well-separated colours (golden-ratio hue steps, alternating lightness)."""
    colours = []
    for i in range(n):
        hue = (i * 0.618033988749895) % 1.0
        light = 0.45 if i % 2 == 0 else 0.6
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.75)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def render_map(result: ClusterResult, size: int = 1024, label_tags: int = 2) -> Image.Image:
    """The map as an image: points coloured by cluster, labels at cluster centres."""
    if result.map is None:
        raise ClusterError("this result has no map: cluster again with options.map set")
    data, margin = result.map, 40
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    colours = palette(max((c.id for c in result.clusters), default=-1) + 1)
    px = margin + data.x * (size - 2 * margin)
    py = margin + (1.0 - data.y) * (size - 2 * margin)
    radius = 3 if len(px) < 5_000 else 1
    for x, y, c in zip(px, py, data.cluster, strict=True):
        fill = colours[c] if c >= 0 else _OUTLIER_COLOUR
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    _draw_labels(draw, result, px, py, colours, label_tags, size)
    return image


def _draw_labels(draw: ImageDraw.ImageDraw, result: ClusterResult, px: np.ndarray,
                 py: np.ndarray, colours: list[tuple[int, int, int]], label_tags: int,
                 size: int) -> None:
    assert result.map is not None
    font = ImageFont.load_default(size=max(11, size // 70))
    for cluster in result.clusters:
        mask = result.map.cluster == cluster.id
        if not mask.any():
            continue
        text = ", ".join(cluster.label[:label_tags]) or f"cluster {cluster.id}"
        # The median is inside the cloud even when the cluster is not convex.
        x, y = float(np.median(px[mask])), float(np.median(py[mask]))
        draw.text((x, y), text, fill=colours[cluster.id], font=font, anchor="mm",
                  stroke_width=2, stroke_fill="white")


def save_map_png(result: ClusterResult, path: str | Path, size: int = 1024) -> Path:
    """Render the map and write it as a PNG at `path` (a new file the caller chose)."""
    out = Path(path)
    render_map(result, size).save(out, format="PNG")
    return out
