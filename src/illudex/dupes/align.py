"""How two copies of one picture line up, for showing them to a person: the part of each
frame that shows the same content (a border, a margin or a crop left out).

The engine's own alignments are tried on the stored features (no file is decoded):
contents as trimmed, whole frames, and the lightness profiles (a crop); the one
that compares best is polished on the comparison itself. The answer is a box in
each frame (fractions 0..1), so a client crops and scales both to the same size.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass

import numpy as np

from illudex.catalog import features as feature_rows
from illudex.dupes import featurebytes, features, verify
from illudex.dupes.transforms import box_transform, profile_transforms, refine

MIN_OVERLAP = 0.5  # an alignment that keeps less than this of either picture is no answer

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class PairAlignment:
    a: Box  # the shared part of a's frame: x0, y0, x1, y1 in 0..1
    b: Box  # the same part of b's frame
    similarity: float  # how alike the two are once aligned (1: the same)
    method: str  # 'frames' (as they are) | 'contents' (borders trimmed) | 'profiles' (a crop)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def align_pair(conn: sqlite3.Connection, a: int, b: int) -> PairAlignment | None:
    """None when either picture has no stored feature (not scanned by this version)."""
    stored = dict(feature_rows.data(conn, featurebytes.NAME, featurebytes.VERSION, [a, b]))
    if a not in stored or b not in stored:
        return None
    return align(features.decode(stored[a]), features.decode(stored[b]))


def align(fa: features.Feature, fb: features.Feature) -> PairAlignment:
    prep = verify.prepare([fa, fb])
    first, second = np.array([0]), np.array([1])
    profiles, _ = profile_transforms(prep, first, second)
    candidates = {
        "frames": box_transform(prep.boxes[0], prep.boxes[1]),
        "contents": np.eye(2, 3),
        "profiles": profiles[0],
    }
    scored = {name: verify.warp_compare(prep, first, second, t[None])
              for name, t in candidates.items()}
    usable = [n for n, s in scored.items() if s.overlap[0] >= MIN_OVERLAP] or ["frames"]
    # Ties go to the simplest (frames as they are, then trimmed contents).
    method = max(usable, key=lambda n: (round(float(scored[n].similarity[0]), 3),
                                        -list(candidates).index(n)))
    transform, scores = candidates[method][None], scored[method]
    if method != "frames":
        polished, polished_scores = refine(prep, first, second, transform)
        if polished_scores.similarity[0] >= scores.similarity[0]:
            transform, scores = polished, polished_scores
    box_a, box_b = shared_boxes(transform[0], tuple(prep.boxes[0]), tuple(prep.boxes[1]))
    return PairAlignment(box_a, box_b, float(scores.similarity[0]), method)


def shared_boxes(transform: np.ndarray, box_a: Box, box_b: Box) -> tuple[Box, Box]:
    """The parts of the two whole frames that `transform` (a's content square → b's)
    lays on each other, in each frame's fractions."""
    a_lo, a_hi, b_lo, b_hi = [], [], [], []
    for axis in (0, 1):
        # X_b = scale * X_a + shift, in whole-frame fractions.
        a0, a1, b0, b1 = box_a[axis], box_a[axis + 2], box_b[axis], box_b[axis + 2]
        wa, wb = max(a1 - a0, 1e-6), max(b1 - b0, 1e-6)
        s, t = max(float(transform[axis, axis]), 1e-6), float(transform[axis, 2])
        scale, shift = s * wb / wa, b0 + wb * (t - s * a0 / wa)
        lo, hi = max(0.0, -shift / scale), min(1.0, (1.0 - shift) / scale)
        if hi <= lo:  # nothing in common: show both whole
            lo, hi, scale, shift = 0.0, 1.0, 1.0, 0.0
        a_lo.append(lo)
        a_hi.append(hi)
        b_lo.append(scale * lo + shift)
        b_hi.append(scale * hi + shift)
    return _box(a_lo, a_hi), _box(b_lo, b_hi)


def _box(lo: list[float], hi: list[float]) -> Box:
    x0, y0, x1, y1 = (round(min(max(float(v), 0.0), 1.0), 5) for v in (*lo, *hi))
    return x0, y0, x1, y1
