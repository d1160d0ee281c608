"""Alignment: the map between two copies' contents, for comparing them laid on each other.

Transforms map a's normalised content square (0..1) to b's: x_b = sx * x_a + tx, and
likewise for y, as P x 2 x 3 arrays. Copies differ from each other by a crop, a margin
or a border, never by a rotation, so scale and shift per axis are all there is to find:
`box_transform` (the whole frames correspond, the trims differ), `profile_transforms`
(the lightness profiles line up: a crop), then `refine` (a pattern search on the
comparison itself, `verify.warp_compare`).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from illudex.dupes import verify

COARSE_SCALES = np.exp(np.linspace(np.log(0.8), np.log(1.25), 11))
COARSE_SHIFTS = np.linspace(-0.2, 0.2, 21)
FINE_SCALES = np.exp(np.linspace(-0.025, 0.025, 7))  # around the coarse best
FINE_SHIFTS = np.linspace(-0.015, 0.015, 7)
MIN_AXIS_OVERLAP = 0.75  # a crop keeps at least this much of each axis
PROFILE_BATCH = 128
COARSE_BINS = 16  # profile length for the coarse grid
FINE_GATE = 0.85  # coarse agreement needed before the fine search


def box_transform(box_a: np.ndarray, box_b: np.ndarray) -> np.ndarray:
    """The map that holds if the two *whole frames* correspond (the trims differ)."""
    ax0, ay0, ax1, ay1 = box_a
    bx0, by0, bx1, by1 = box_b
    sx = (ax1 - ax0) / max(bx1 - bx0, 1e-6)
    sy = (ay1 - ay0) / max(by1 - by0, 1e-6)
    return np.array([[sx, 0.0, (ax0 - bx0) / max(bx1 - bx0, 1e-6)],
                     [0.0, sy, (ay0 - by0) / max(by1 - by0, 1e-6)]])


def is_identity(transform: np.ndarray, tol: float = 0.01) -> bool:
    return bool(np.abs(transform - np.eye(2, 3)).max() <= tol)


def profile_transforms(
    prep: verify.Prepared, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each pair: the scale and shift per axis that best line up the lightness
    profiles (column and row means) of the two contents — a crop shows as a
    stretched, shifted profile — as P x 2 x 3 transforms, and the worse of the two
    axes' correlations (P): how well the profiles agree once lined up. Pairs whose
    coarse agreement is already poor keep the coarse answer (no fine search)."""
    out = np.zeros((len(a), 2, 3))
    agreement = np.zeros(len(a))
    for s in range(0, len(a), PROFILE_BATCH):
        la = prep.light[a[s:s + PROFILE_BATCH]].astype(np.float32)
        lb = prep.light[b[s:s + PROFILE_BATCH]].astype(np.float32)
        px = (la.mean(axis=1), lb.mean(axis=1))
        py = (la.mean(axis=2), lb.mean(axis=2))
        sx, tx, cx = _coarse_align(*px)
        sy, ty, cy = _coarse_align(*py)
        good = np.minimum(cx, cy) >= FINE_GATE
        if good.any():
            sx[good], tx[good], cx[good] = _fine_align(px[0][good], px[1][good], sx[good], tx[good])
            sy[good], ty[good], cy[good] = _fine_align(py[0][good], py[1][good], sy[good], ty[good])
        rows = out[s:s + PROFILE_BATCH]
        rows[:, 0, 0], rows[:, 0, 2], rows[:, 1, 1], rows[:, 1, 2] = sx, tx, sy, ty
        agreement[s:s + PROFILE_BATCH] = np.minimum(cx, cy)
    return out, agreement


def _coarse_align(
    pa: np.ndarray, pb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coarse grid is the same for every pair, so each map is a fixed matrix and the
    correlations come from a few matrix products: (scale, shift, correlation) per row."""
    pool = max(1, pa.shape[1] // COARSE_BINS)
    ca = pa.reshape(len(pa), -1, pool).mean(-1)
    cb = pb.reshape(len(pb), -1, pool).mean(-1)
    n = ca.shape[1]
    resample, w, s0, t0 = _coarse_grid(n)  # resample already zeroes samples outside b
    vb = (cb @ resample).reshape(len(cb), len(s0), n)
    cnt = np.maximum(w.sum(1), 1.0)  # G
    sa, saa = ca @ w.T, (ca * ca) @ w.T  # P x G
    sb, sbb = vb.sum(-1), (vb * vb).sum(-1)
    sab = np.einsum("pn,pgn->pg", ca, vb)
    cov = sab - sa * sb / cnt
    var = np.maximum(saa - sa * sa / cnt, 0) * np.maximum(sbb - sb * sb / cnt, 0)
    corr = np.where(var > 1e-6, cov / np.sqrt(np.maximum(var, 1e-12)), 0.0)
    corr[:, w.sum(1) < MIN_AXIS_OVERLAP * n] = -1.0
    best = np.argmax(corr, axis=1)  # first best: ties go to the smaller scale, shift
    return s0[best].copy(), t0[best].copy(), corr[np.arange(len(pa)), best]


def _fine_align(
    pa: np.ndarray, pb: np.ndarray, scale: np.ndarray, shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s1 = scale[:, None] * np.repeat(FINE_SCALES, len(FINE_SHIFTS))[None, :].astype(np.float32)
    t1 = shift[:, None] + np.tile(FINE_SHIFTS, len(FINE_SCALES))[None, :].astype(np.float32)
    return _best_on_grid(pa, pb, s1, t1)


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _coarse_grid(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Linear-interpolation matrices (n x G*n) for the coarse maps, their validity
    masks (G x n), scales and shifts."""
    if n not in _GRIDS:
        s = np.repeat(COARSE_SCALES, len(COARSE_SHIFTS)).astype(np.float32)
        t = np.tile(COARSE_SHIFTS, len(COARSE_SCALES)).astype(np.float32)
        xa = (np.arange(n) + 0.5) / n
        xb = s[:, None] * xa[None, :] + t[:, None]
        pos = np.clip(xb * n - 0.5, 0, n - 1)
        i0 = np.floor(pos).astype(np.int64)
        f = pos - i0
        m = np.zeros((len(s), n, n), np.float32)  # [grid, a-sample, b-bin]
        g, k = np.meshgrid(np.arange(len(s)), np.arange(n), indexing="ij")
        np.add.at(m, (g, k, i0), 1 - f)
        np.add.at(m, (g, k, np.minimum(i0 + 1, n - 1)), f)
        w = ((xb >= 0) & (xb <= 1)).astype(np.float32)
        m *= w[:, :, None]  # samples that fall outside b take no part
        _GRIDS[n] = (m.reshape(-1, n).T.copy(), w, s, t)
    return _GRIDS[n]


def _masked_corr(va: np.ndarray, vb: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson correlation over the last axis where w is 1; -1 where too little overlaps."""
    cnt = w.sum(-1)
    ma = (va * w).sum(-1) / np.maximum(cnt, 1)
    mb = (vb * w).sum(-1) / np.maximum(cnt, 1)
    da, db = (va - ma[..., None]) * w, (vb - mb[..., None]) * w
    cov = (da * db).sum(-1)
    norm = np.sqrt((da * da).sum(-1) * (db * db).sum(-1))
    corr = np.where(norm > 1e-6, cov / np.maximum(norm, 1e-6), 0.0)
    n = va.shape[-1]
    return np.where(np.broadcast_to(cnt, corr.shape) < MIN_AXIS_OVERLAP * n, -1.0, corr)


def _best_on_grid(
    pa: np.ndarray, pb: np.ndarray, s: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, n = pa.shape
    s = np.broadcast_to(s, (p, s.shape[1]))
    t = np.broadcast_to(t, (p, t.shape[1]))
    xa = ((np.arange(n) + 0.5) / n).astype(np.float32)
    xb = s[:, :, None] * xa + t[:, :, None]  # where each of a's samples falls in b
    w = ((xb >= 0) & (xb <= 1)).astype(np.float32)
    pos = np.clip(xb * n - 0.5, 0, n - 1)
    i0 = np.floor(pos).astype(np.int64)
    f = (pos - i0).astype(np.float32)
    rows = np.arange(p)[:, None, None]
    vb = pb[rows, i0] * (1 - f) + pb[rows, np.minimum(i0 + 1, n - 1)] * f
    corr = _masked_corr(pa[:, None, :], vb, w)
    best = np.argmax(corr, axis=1)  # first best: ties go to the smaller scale, shift
    pick = np.arange(p)
    return s[pick, best], t[pick, best], corr[pick, best]


REFINE_STEPS = ((0.03, 1.0), (0.015, 0.5))  # (scale step, shift step in pixels) per round


def refine(
    prep: verify.Prepared, a: np.ndarray, b: np.ndarray, transforms: np.ndarray
) -> tuple[np.ndarray, verify.Scores]:
    """Pattern search on the comparison itself around each pair's transform: nudge
    each of the four parameters up and down, keep the best, halve the steps. The
    profiles find the neighbourhood; this finds the last pixel."""
    side = prep.light.shape[1]
    current = transforms.astype(np.float64).copy()
    best = verify.warp_compare(prep, a, b, current)
    for scale_step, shift_step in REFINE_STEPS:
        nudges = []
        for axis in (0, 1):
            for sign in (-1.0, 1.0):
                n = np.zeros((2, 3))
                n[axis, axis] = sign * scale_step
                nudges.append(("scale", n))
                n = np.zeros((2, 3))
                n[axis, 2] = sign * shift_step / side
                nudges.append(("shift", n))
        for kind, n in nudges:
            tried = current * (1 + n) if kind == "scale" else current + n
            sc = verify.warp_compare(prep, a, b, tried)
            better = sc.similarity > best.similarity
            current[better] = tried[better]
            for field in fields(verify.Scores):  # every score, however many there are
                getattr(best, field.name)[better] = getattr(sc, field.name)[better]
    return current, best
