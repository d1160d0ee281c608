"""Vectors for search by picture with no model, from the duplicate finder's stored features.

A picture's vector is its content's shape in lightness (16 x 16) beside its shape in
colour (two opponent channels, 8 x 8), each centred. Lightness alone leaves a picture
drawn in colours of one lightness (many flags, recolours) with no direction at all, so it
could not even find itself; colour gives it one. Each part is divided by its own norm, but
never by less than a floor: a grey picture's faint JPEG colour noise stays faint instead of
being blown up to a full-weight random direction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from illudex.dupes.features import Feature

LIGHT_SIDE = 16
CHROMA_SIDE = 8
CHROMA_WEIGHT = 0.7  # colour counts a little less than lightness, where both are strong
# A part whose spread is under this many levels per value weighs less, in proportion.
LIGHT_FLOOR = 6.0
CHROMA_FLOOR = 4.0


def picture_vectors(features: Sequence[Feature]) -> np.ndarray:
    """Unit vectors (zero for a picture of one flat colour), one row per feature."""
    if not features:
        return np.zeros((0, LIGHT_SIDE**2 + 2 * CHROMA_SIDE**2), np.float32)
    light = np.stack([_small(f.light, LIGHT_SIDE).ravel() for f in features])
    chroma = np.stack([_small(f.chroma, CHROMA_SIDE).reshape(-1, 2) for f in features])
    light -= light.mean(axis=1, keepdims=True)
    chroma -= chroma.mean(axis=1, keepdims=True)  # per channel: the shape, not the hue
    chroma = chroma.reshape(len(features), -1)
    parts = np.hstack([_scaled(light, LIGHT_FLOOR), CHROMA_WEIGHT * _scaled(chroma, CHROMA_FLOOR)])
    norm = np.linalg.norm(parts, axis=1, keepdims=True)
    return np.where(norm > 1e-6, parts / np.maximum(norm, 1e-6), 0.0).astype(np.float32)


def _small(x: np.ndarray, side: int) -> np.ndarray:
    import cv2  # lazily, as the rest of search by picture

    return cv2.resize(x.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)


def _scaled(rows: np.ndarray, floor: float) -> np.ndarray:
    norm = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norm, floor * np.sqrt(rows.shape[1]))
