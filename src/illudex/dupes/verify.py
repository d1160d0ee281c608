"""Verification: how much of one picture's content changed in the other.

Two pictures are laid on top of each other (their trimmed contents as stored, or
mapped through an alignment) and compared pixel by pixel where there is *ink* (not
the pair's paper): lightness after a gain/offset fit (tone edits), and colour. Each
comparison tolerates a half-pixel shift (the trim is only so precise), and a change
counts fully only when it is strong: a caption in a small font fades to a faint
smudge in a 48 px thumbnail, a changed arm or a new colour does not.

Sparse pictures (line art, sketches: mostly paper) are compared on what is drawn:
their ink is softened by a fraction of a cell and stretched away from the paper until
its typical depth is a filled shape's (`_amplify_ink`), so that two unrelated sketches
no longer look alike for being mostly white.

Scores per pair: `structure` (share of ink whose lightness changed), `colour` (share
of coloured ink whose colour changed), `local` (the densest change of either kind in a
small window, strokes one cell tall left out: an arrow that turned round, a recoloured
part, but not a caption; here a faint new hue over a flat area counts too, a pale tint
that the colour share ignores), `rest` (changed share outside the most changed region: ~0
for a recolour or a changed costume), `overlap` (share of each picture's ink the other
covers) and `spread` (how inconsistently the hue turned where colour changed: a
recolour turns every hue alike, two flags sharing a layout do not), and `colour_rest`
(recoloured share outside the most recoloured region: ~0 for a recoloured part, most of
`colour` for a whole recolour) and `chroma_change` (how much the colourfulness changed
where colour changed: ~0 for a hue turn, high where a colour turned grey or black).
`similarity = 1 - max(structure, colour, LOCAL_WEIGHT * local)`.

Comparisons run on batches of pairs (numpy over a leading pair axis). `warp_compare`
compares through a map between the two contents, which `dupes.transforms` finds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import numpy as np

from illudex.dupes.features import Feature

INK_LIGHT = 28  # lightness this far from the background's is ink
INK_COLOUR = 14  # opponent-colour magnitude this large is "coloured"
LIGHT_SOFT = (24.0, 64.0)  # a lightness change counts from 0 at the first to 1 at the second
COLOUR_SOFT = (28.0, 64.0)  # same for the sum of the two opponent-colour changes
TINT_SOFT = (8.0, 24.0)  # same for a new hue (not a saturation change) in a dense part
TINT_FLAT = 12.0  # ... judged inside areas of one colour (neighbours within this)
MIN_INK = 0.03  # shares are taken of at least this much of the picture (sparse drawings)
GAIN_RANGE = (0.75, 1.35)  # tone edits: lightness gain allowed between the two
OFFSET_LIMIT = 64.0  # ... and lightness offset
BATCH = 128  # pairs compared at once: small enough to stay in the CPU's cache
LOCAL_WINDOW = 0.1  # side of the window for a dense local change, share of the side
LOCAL_WEIGHT = 0.3  # a fully changed window weighs as much as this share changed overall
INK_FAINT = 8  # paper: within this of the background; ink depth: the mean over the rest ...
INK_DEPTH = 128.0  # ... is stretched to at least this far from the paper ...
INK_GAIN = 8.0  # ... by at most this factor
INK_BLUR = 0.6  # sparse ink is softened by a Gaussian of this sigma (in 48 px cells)
SPARSE_PAPER = (0.2, 0.4)  # a picture is sparse from the first share of paper, fully at the second
HUE_EVIDENCE = 0.02  # the hue's turn is judged on at least this share of changed colour
AMPLIFY_CHUNK = 2048  # pictures whose ink is stretched at once
TEXT_ROWS = 2  # a local change must be at least this many cells tall (captions are not)
REGION_WINDOW = 0.4  # side of "one region" (a changed costume, a face), share of the side
REGION_CLOSE = 5  # gaps in a changed region up to this many cells are closed


@dataclass
class Prepared:
    """Per-picture arrays the comparisons gather from (index = position in the batch).
    Compact (~3.5 KB a picture); the float arrays a comparison needs are made per batch."""

    light: np.ndarray  # N x S x S uint8
    chroma: np.ndarray  # N x 2 x C x C int8 (C = S / 2)
    bg_light: np.ndarray  # N: the background's lightness (when has_bg)
    bg_chroma: np.ndarray  # N x 2
    has_bg: np.ndarray  # N bool: a background was trimmed off
    boxes: np.ndarray  # N x 4 float64: trimmed box x0 y0 x1 y1 in the frame


@dataclass
class Scores:
    """Comparison of pairs: shares (0..1) of changed structure and changed colour."""

    structure: np.ndarray
    colour: np.ndarray
    overlap: np.ndarray  # share of each picture's content that the other covers (min of both)
    local: np.ndarray  # densest change in a small window (0..1)
    rest: np.ndarray  # share of ink changed outside the most changed region (a costume)
    spread: np.ndarray  # how inconsistently the hue turned where colour changed (0..1)
    colour_rest: np.ndarray  # share of coloured ink recoloured outside the most changed region
    chroma_change: np.ndarray  # how much the colourfulness changed where colour changed (0..1)

    @property
    def similarity(self) -> np.ndarray:
        return similarity(self.structure, self.colour, self.local)


def similarity(structure: np.ndarray, colour: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The one number: 1 - the largest of the changed shares, a dense local change
    counting LOCAL_WEIGHT as much as a spread one."""
    return 1.0 - np.maximum(np.maximum(structure, colour), LOCAL_WEIGHT * local)


def prepare(features: Sequence[Feature], side: int = 0) -> Prepared:
    """Arrays for comparing at `side` px (0: as stored; smaller: a coarse, cheap pass)."""
    light = np.stack([f.light for f in features])
    chroma = np.stack([f.chroma for f in features]).transpose(0, 3, 1, 2)
    if side and side != light.shape[1]:
        light = _shrink(light, side)
        small = _shrink(chroma.reshape(-1, *chroma.shape[2:]).astype(np.float32), side // 2)
        chroma = np.rint(small).astype(np.int8).reshape(len(features), 2, side // 2, side // 2)
    bg = np.array([f.background or (255, 255, 255) for f in features], np.float32)
    r, g, b = bg[:, 0], bg[:, 1], bg[:, 2]
    bg_light = (bg.max(1) + bg.min(1)) / 2
    has_bg = np.array([f.background is not None for f in features])
    light = _amplify_ink(light, bg_light, has_bg)
    return Prepared(
        light=np.ascontiguousarray(light), chroma=np.ascontiguousarray(chroma),
        bg_light=bg_light,
        bg_chroma=np.stack([(r - g) / 2, ((r + g) / 2 - b) / 2], axis=1),
        has_bg=has_bg,
        boxes=np.array([f.box for f in features], np.float64),
    )


def _amplify_ink(light: np.ndarray, bg_light: np.ndarray, has_bg: np.ndarray) -> np.ndarray:
    """Sparse drawings (thin lines on paper) fade to faint grey in a thumbnail: every
    unrelated sketch then differs from every other by less than a change counts. Their
    ink is softened a little (a line one cell over is the same line) and stretched
    away from the paper until its typical depth is a filled shape's, so that what is
    drawn, not the paper, decides. Both fade in with the share of paper, so that copies
    either side of "sparse" are treated alike. In place, a chunk of pictures at a time
    (the float copies would otherwise cost ~30 KB a picture at once)."""
    for s in range(0, len(light), AMPLIFY_CHUNK):
        part = slice(s, s + AMPLIFY_CHUNK)
        light[part] = _amplify_chunk(light[part], bg_light[part], has_bg[part])
    return light


def _amplify_chunk(light: np.ndarray, bg_light: np.ndarray, has_bg: np.ndarray) -> np.ndarray:
    paper_at = np.rint(bg_light).astype(np.int16)[:, None, None]
    near = np.abs(light.astype(np.int16) - paper_at) <= INK_FAINT
    paper = near.reshape(len(light), -1).mean(1)
    weight = np.clip((paper - SPARSE_PAPER[0]) / (SPARSE_PAPER[1] - SPARSE_PAPER[0]), 0, 1)
    weight[~has_bg] = 0.0
    sparse = np.flatnonzero(weight > 0)
    if not len(sparse):
        return light
    w = weight[sparse, None, None].astype(np.float32)
    bg = bg_light[sparse, None, None].astype(np.float32)
    ink = light[sparse].astype(np.float32) - bg
    soft = _blur(ink, INK_BLUR * light.shape[-1] / 48)
    depth = np.abs(soft)
    inked = depth > INK_FAINT
    count = inked.reshape(len(sparse), -1).sum(1)
    level = np.where(count > 0, (depth * inked).reshape(len(sparse), -1).sum(1)
                     / np.maximum(count, 1), INK_DEPTH)
    gain = 1.0 + (np.clip(INK_DEPTH / np.maximum(level, 1.0), 1.0, INK_GAIN) - 1.0) * w[:, 0, 0]
    out = light.copy()
    out[sparse] = np.clip(np.rint(bg + (ink * (1 - w) + soft * w) * gain[:, None, None]
                                  .astype(np.float32)), 0, 255).astype(np.uint8)
    return out


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of each of N images (N x S x S float32), as OpenCV's GaussianBlur
    does it (its kernel for this sigma, edges reflected), in two calls: the images
    stacked into one tall picture are filtered along their rows, then transposed and
    filtered along rows again; rows never mix across images."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    n, h, w = x.shape
    kernel = cv2.getGaussianKernel(round(sigma * 8 + 1) | 1, sigma, cv2.CV_32F)
    one = np.ones((1, 1), np.float32)

    def along_rows(rows: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(rows, -1, kernel, one, borderType=cv2.BORDER_REFLECT_101)

    rows = along_rows(np.ascontiguousarray(x, np.float32).reshape(n * h, w)).reshape(n, h, w)
    cols = along_rows(np.ascontiguousarray(rows.transpose(0, 2, 1)).reshape(n * w, h))
    return cols.reshape(n, w, h).transpose(0, 2, 1)


def _shrink(x: np.ndarray, side: int) -> np.ndarray:
    import cv2  # lazily: a re-run answered from the cache never needs it
    return np.stack([cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA) for im in x])


def _neighbour(x: np.ndarray, op: np.ufunc) -> np.ndarray:
    """Min (or max) over the last two axes of each pixel and its blends half-way to each
    of its 8 neighbours — the values a shift of up to half a pixel can produce. That is
    (x + the 3x3 min) / 2, and the 3x3 min is a row pass and a column pass."""
    p = np.concatenate([x[..., :1], x, x[..., -1:]], axis=-1)
    rows = op(op(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    p = np.concatenate([rows[..., :1, :], rows, rows[..., -1:, :]], axis=-2)
    box = op(op(p[..., :-2, :], p[..., 1:-1, :]), p[..., 2:, :])
    return (x + box) * 0.5


def _upsample(x: np.ndarray, side: int) -> np.ndarray:
    k = side // x.shape[-1]
    return x.repeat(k, axis=-2).repeat(k, axis=-1)


def compare(prep: Prepared, a: np.ndarray, b: np.ndarray, shape_only: bool = False) -> Scores:
    """Compare pictures a[i] and b[i] as stored (trimmed contents laid on each other).
    `shape_only`: only `structure` and `rest` (a first pass that sorts out candidates)."""
    return _in_batches(
        len(a), lambda s: _compare_views(_view(prep, a[s:s + BATCH]), _view(prep, b[s:s + BATCH]),
                                         None, shape_only))


def one_region(prep: Prepared, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As stored, per pair: the share of the ink that changed outside the largest region
    of change (strong change, gaps closed, its bounding box), and that box's share of
    the ink. A part erased, replaced or added is one region however large; a window of
    fixed size (`rest`) cuts a large one apart."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    rest, share = np.zeros(len(a)), np.ones(len(a))
    close = np.ones((REGION_CLOSE, REGION_CLOSE), np.uint8)
    for s in range(0, len(a), BATCH):
        maps: list[tuple[np.ndarray, np.ndarray]] = []
        _compare_views(_view(prep, a[s:s + BATCH]), _view(prep, b[s:s + BATCH]), None,
                       maps=maps)
        (change, ink), = maps
        for k, (c, i) in enumerate(zip(change, ink, strict=True)):
            mask = cv2.morphologyEx((c > 0.5).astype(np.uint8), cv2.MORPH_CLOSE, close)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            if n <= 1:
                continue
            mass = np.bincount(labels.ravel(), weights=c.ravel(), minlength=n)[1:]
            x, y, w, h = stats[1 + int(np.argmax(mass)), :4]
            inside = np.zeros(c.shape, bool)
            inside[y:y + h, x:x + w] = True
            n_ink = max(float(i.sum()), MIN_INK * c.size)
            rest[s + k] = float(c[~inside].sum()) / n_ink
            share[s + k] = float(i[inside].sum()) / n_ink
    return rest, share


def _in_batches(count: int, compare_batch: Callable[[int], Scores]) -> Scores:
    """Scores of `count` pairs, compared BATCH at a time from each batch's start. Batches
    run in threads (numpy and OpenCV let go of the GIL in their loops) and are put
    together in order, so the answer does not depend on the scheduling."""
    starts = range(0, count, BATCH)
    if len(starts) > 1:
        with ThreadPoolExecutor(min(len(starts), os.cpu_count() or 1)) as pool:
            parts = list(pool.map(compare_batch, starts))
    else:
        parts = [compare_batch(s) for s in starts]
    if not parts:
        empty = np.zeros(0)
        return Scores(empty, empty, empty, empty, empty, empty, empty, empty)
    return Scores(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Scores)))


@dataclass
class _View:
    light: np.ndarray
    light_lo: np.ndarray
    light_hi: np.ndarray
    chroma: np.ndarray
    chroma_lo: np.ndarray
    chroma_hi: np.ndarray
    bg_light: np.ndarray
    bg_chroma: np.ndarray
    has_bg: np.ndarray


def _view(prep: Prepared, idx: np.ndarray) -> _View:
    # Batches hold each picture several times (pairs are sorted): work per picture once.
    unique, where = np.unique(idx, return_inverse=True)
    v = _make_view(prep.light[unique], prep.chroma[unique], prep.bg_light[unique],
                   prep.bg_chroma[unique], prep.has_bg[unique])
    if len(unique) == len(idx) and np.array_equal(unique, idx):
        return v
    return _View(*(getattr(v, f.name)[where] for f in fields(_View)))


def _make_view(light: np.ndarray, chroma: np.ndarray, bg_light: np.ndarray,
               bg_chroma: np.ndarray, has_bg: np.ndarray) -> _View:
    light = light.astype(np.float32)
    chroma = chroma.astype(np.float32)
    return _View(light, _neighbour(light, np.minimum), _neighbour(light, np.maximum),
                 chroma, _neighbour(chroma, np.minimum), _neighbour(chroma, np.maximum),
                 bg_light, bg_chroma, has_bg)


def _ink(light: np.ndarray, chroma: np.ndarray, bg_light: np.ndarray, bg_chroma: np.ndarray,
         has_bg: np.ndarray) -> np.ndarray:
    """Pixels unlike the background (all pixels where there is no background)."""
    ink = np.abs(light - bg_light[:, None, None]) > INK_LIGHT
    coloured = np.abs(chroma - bg_chroma[:, :, None, None]).sum(1) > INK_COLOUR
    ink |= _upsample(coloured, light.shape[-1])
    ink[~has_bg] = True
    return ink


def _compare_views(
    va: _View, vb: _View, valid: np.ndarray | None, shape_only: bool = False,
    maps: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Scores:
    """The core comparison; `valid` (P x S x S, or None for all) masks the overlap.
    `maps`: if given, gets the (change, ink) maps of the batch appended."""
    n, side = va.light.shape[:2]
    gain, offset = _tone_fit(va.light, vb.light, valid)
    g3, o3 = gain[:, None, None], offset[:, None, None]
    lb, lb_lo, lb_hi = vb.light * g3 + o3, vb.light_lo * g3 + o3, vb.light_hi * g3 + o3
    d_light = np.maximum(np.maximum(lb_lo - va.light, va.light - lb_hi),
                         np.maximum(va.light_lo - lb, lb - va.light_hi))
    # Ink against the pair's paper: a picture with no background of its own (nothing
    # was trimmed: a blank, a full-bleed painting) is judged on the other's paper.
    any_bg = va.has_bg | vb.has_bg
    bgl_a = np.where(va.has_bg, va.bg_light, vb.bg_light)
    bgc_a = np.where(va.has_bg[:, None], va.bg_chroma, vb.bg_chroma)
    bgl_b = np.where(vb.has_bg, vb.bg_light, va.bg_light)
    bgc_b = np.where(vb.has_bg[:, None], vb.bg_chroma, va.bg_chroma)
    ink = (_ink(va.light, va.chroma, bgl_a, bgc_a, any_bg)
           | _ink(vb.light, vb.chroma, bgl_b, bgc_b, any_bg))
    if valid is not None:
        ink &= valid
    n_ink = np.maximum(ink.reshape(n, -1).sum(1), MIN_INK * side * side)
    changed = _soft(d_light, LIGHT_SOFT) * ink
    structure = changed.reshape(n, -1).sum(1) / n_ink
    region = max(2, round(side * REGION_WINDOW))
    rest = np.maximum(structure - _densest(changed, region) * region * region / n_ink, 0)
    if shape_only:
        zero = np.zeros(n)
        return Scores(structure, zero, np.ones(n), zero, rest, zero, zero, zero)

    g4 = gain[:, None, None, None]
    cb, cb_lo, cb_hi = vb.chroma * g4, vb.chroma_lo * g4, vb.chroma_hi * g4
    d_chroma = np.maximum(np.maximum(cb_lo - va.chroma, va.chroma - cb_hi),
                          np.maximum(va.chroma_lo - cb, cb - va.chroma_hi))
    coloured = (np.abs(va.chroma).sum(1) > INK_COLOUR) | (np.abs(cb).sum(1) > INK_COLOUR)
    if valid is not None:
        coloured &= valid[:, ::2, ::2]
    cside = va.chroma.shape[-1]
    n_col = np.maximum(coloured.reshape(n, -1).sum(1), MIN_INK * cside * cside)
    d_sum = np.maximum(d_chroma, 0).sum(1)
    changed_colour = _soft(d_sum, COLOUR_SOFT) * coloured
    colour = changed_colour.reshape(n, -1).sum(1) / n_col
    # A recoloured part is a local change too: the densest change of either kind.
    # Inside flat areas only: at a border between two hues, resampling mixes them.
    flat = ((va.chroma_hi - va.chroma_lo).max(1) <= TINT_FLAT) & (
        (cb_hi - cb_lo).max(1) <= TINT_FLAT * gain[:, None, None])
    tinted = _soft(np.minimum(_new_hue(va.chroma, cb), d_sum), TINT_SOFT) * (coloured & flat)
    part = np.maximum(changed_colour, tinted)
    full = np.maximum(changed, _upsample(part, side))
    if maps is not None:
        maps.append((full, ink))
    either = _drop_thin_rows(full)
    local = _densest(either, max(2, round(side * LOCAL_WINDOW)))
    overlap = np.ones(n) if valid is None else valid.reshape(n, -1).mean(1)
    # Judged only where colour is most of the change: a figure added brings hues of its own.
    spread = np.where(colour > 2 * structure, _hue_spread(va.chroma, cb, changed_colour), 0.0)
    cregion = max(2, round(cside * REGION_WINDOW))
    colour_rest = np.maximum(
        colour - _densest(changed_colour, cregion) * cregion * cregion / n_col, 0)
    return Scores(structure, colour, overlap, local, rest, spread, colour_rest,
                  _chroma_change(va.chroma, cb, changed_colour))


def _new_hue(ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """How far each pixel's colour moved off the line of its own saturations (opponent
    units): 0 where one is the other more or less saturated (a tone edit), the whole
    colour where grey turned colourful. A recoloured part is new hue over a dense area,
    which a saturation edit or a re-encode never makes."""
    def off(c: np.ndarray, d: np.ndarray) -> np.ndarray:
        norm = (c * c).sum(1)
        t = np.clip((c * d).sum(1) / np.maximum(norm, 1e-6), 0, None)
        away = np.sqrt(((d - t[:, None] * c) ** 2).sum(1))
        return np.where(norm < INK_COLOUR ** 2, np.sqrt((d * d).sum(1)), away)

    return np.maximum(off(ca, cb), off(cb, ca))


def _hue_spread(ca: np.ndarray, cb: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """How inconsistently the hue turned where the colour changed (0: every changed
    pixel turned by the same angle, as a recolour turns them; towards 1: each region
    its own way, as between two flags that share a layout). 0 where too little
    coloured area changed to say."""
    def hue(c: np.ndarray) -> np.ndarray:  # hexagonal hue from the opponent channels
        a, b = 2 * c[:, 0], 2 * c[:, 1]
        return np.arctan2(np.sqrt(3) * (b - a / 2), 1.5 * a + b)

    both = (np.hypot(ca[:, 0], ca[:, 1]) > INK_COLOUR) & (np.hypot(cb[:, 0], cb[:, 1]) > INK_COLOUR)
    w = changed * both
    turn = hue(cb) - hue(ca)
    n = len(w)
    total = w.reshape(n, -1).sum(1)
    vec = np.hypot((w * np.cos(turn)).reshape(n, -1).sum(1),
                   (w * np.sin(turn)).reshape(n, -1).sum(1))
    spread = 1 - vec / np.maximum(total, 1e-6)
    return np.where(total >= HUE_EVIDENCE * w[0].size, spread, 0.0)


def _chroma_change(ca: np.ndarray, cb: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """How much the colourfulness changed where the colour changed: the mean relative
    change of the chroma (0: kept, as a hue turn keeps each pixel's max - min channel;
    towards 1: a colour turned grey or black, or grey turned colourful)."""
    def chroma(c: np.ndarray) -> np.ndarray:  # hexagonal chroma from the opponent channels
        a, b = 2 * c[:, 0], 2 * c[:, 1]
        return np.hypot(np.sqrt(3) * (b - a / 2), 1.5 * a + b)

    ma, mb = chroma(ca), chroma(cb)
    relative = np.abs(ma - mb) / np.maximum(np.maximum(ma, mb), 1.0)
    w = changed * ((ma > INK_COLOUR) | (mb > INK_COLOUR))
    n = len(w)
    return (relative * w).reshape(n, -1).sum(1) / np.maximum(w.reshape(n, -1).sum(1), 1e-6)


def _drop_thin_rows(changed: np.ndarray) -> np.ndarray:
    """The change without strokes under TEXT_ROWS cells tall (a min over that many rows):
    a caption or a watermark is a thin band of small glyphs, a changed part is not."""
    rows = TEXT_ROWS
    out = changed[:, : changed.shape[1] - rows + 1]
    for k in range(1, rows):
        out = np.minimum(out, changed[:, k: changed.shape[1] - rows + 1 + k])
    return np.ascontiguousarray(out)


def _densest(x: np.ndarray, window: int) -> np.ndarray:
    """Largest mean change in any window x window square of each of N maps (N x H x W):
    a compact changed region (an arm, an arrow) scores high, a thin caption line low.
    The window sums are box filters along the rows of the maps stacked into one tall
    picture, then along their columns (rows never mix across maps)."""
    return _window_sums(_window_sums(x, window).transpose(0, 2, 1), window).reshape(
        len(x), -1).max(1) / (window * window)


def _window_sums(x: np.ndarray, window: int) -> np.ndarray:
    """Sums of `window` neighbours along the last axis, where all lie inside."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    n, h, w = x.shape
    rows = np.ascontiguousarray(x, np.float32).reshape(n * h, w)
    sums = cv2.sepFilter2D(rows, -1, np.ones(window, np.float32), np.ones(1, np.float32),
                           borderType=cv2.BORDER_CONSTANT)
    first = window // 2  # the filter's anchor: the first sum whose window lies inside
    return sums.reshape(n, h, w)[:, :, first:w - window + first + 1]


def _soft(d: np.ndarray, soft: tuple[float, float]) -> np.ndarray:
    lo, hi = soft
    return np.clip((d - lo) / (hi - lo), 0.0, 1.0)


def _tone_fit(
    la: np.ndarray, lb: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares gain and offset taking b's lightness to a's (brightness edits)."""
    n = la.shape[0]
    w = np.ones_like(la) if valid is None else valid.astype(np.float32)
    sw = np.maximum(w.reshape(n, -1).sum(1), 1.0)
    ma = (la * w).reshape(n, -1).sum(1) / sw
    mb = (lb * w).reshape(n, -1).sum(1) / sw
    da, db = la - ma[:, None, None], lb - mb[:, None, None]
    cov = (da * db * w).reshape(n, -1).sum(1)
    var = (db * db * w).reshape(n, -1).sum(1)
    gain = np.where(var > 1e-3 * sw, cov / np.maximum(var, 1e-6), 1.0)
    gain = np.clip(gain, *GAIN_RANGE)
    offset = np.clip(ma - gain * mb, -OFFSET_LIMIT, OFFSET_LIMIT)
    return gain.astype(np.float32), offset.astype(np.float32)


def warp_compare(
    prep: Prepared, a: np.ndarray, b: np.ndarray, transforms: np.ndarray
) -> Scores:
    """Compare picture a[i] with picture b[i] mapped onto a's content square by
    transforms[i] (2x3, a's normalised 0..1 coordinates → b's normalised coordinates)."""
    return _in_batches(len(a), lambda s: _warp_compare_batch(
        prep, a[s:s + BATCH], b[s:s + BATCH], transforms[s:s + BATCH]))


def _warp_compare_batch(
    prep: Prepared, a: np.ndarray, b: np.ndarray, transforms: np.ndarray
) -> Scores:
    """Resample whichever of the two has more pixels over the overlap onto the other's
    grid (shrinking, blurred first: never enlarging a coarse thumbnail, which would
    blur its edges past the comparison's tolerance)."""
    side, cside = prep.light.shape[1], prep.chroma.shape[-1]
    maps = transforms.astype(np.float64)
    flip = np.abs(np.linalg.det(maps[:, :, :2])) < 1
    target, source = np.where(flip, b, a), np.where(flip, a, b)
    maps[flip] = _inverse(maps[flip])
    light = np.empty((len(a), side, side), np.float32)
    chroma = np.empty((len(a), cside, cside, 2), np.float32)
    for k, (j, m) in enumerate(zip(source, maps, strict=True)):
        light[k] = _warp(prep.light[j].astype(np.float32), m, side)
        chroma[k] = _warp(prep.chroma[j].transpose(1, 2, 0).astype(np.float32), m, cside)
    valid = _inside(maps, side)
    overlap = np.minimum(_ink_share(prep, target, source, valid),
                         _ink_share(prep, source, target, _inside(_inverse(maps), side)))
    vb = _make_view(light, chroma.transpose(0, 3, 1, 2), prep.bg_light[source],
                    prep.bg_chroma[source], prep.has_bg[source])
    scores = _compare_views(_view(prep, target), vb, valid)
    scores.overlap = overlap
    return scores


def _warp(image: np.ndarray, transform: np.ndarray, side: int) -> np.ndarray:
    """`image` (side x side [x channels]) seen through `transform` (target's normalised
    coordinates → image's), blurred first as much as the map shrinks it."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    scale = np.sqrt(np.maximum(np.diag(transform[:, :2]) ** 2 - 1, 0)) * 0.5
    if scale.max() > 0.1:
        image = cv2.GaussianBlur(image, (0, 0), sigmaX=max(scale[0], 0.1),
                                 sigmaY=max(scale[1], 0.1), borderType=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(image, _pixel_map(transform, side), (side, side),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _pixel_map(transform: np.ndarray, side: int) -> np.ndarray:
    """Normalised map → pixel map (pixel centres) for an image of `side`."""
    to_norm = np.array([[1 / side, 0, 0.5 / side], [0, 1 / side, 0.5 / side], [0, 0, 1]])
    to_pix = np.array([[side, 0, -0.5], [0, side, -0.5], [0, 0, 1]])
    full = to_pix @ np.vstack([transform, [0, 0, 1]]) @ to_norm
    return full[:2].astype(np.float32)


def _inside(transforms: np.ndarray, side: int) -> np.ndarray:
    """Which of a's pixels land inside b (so that the comparison means something), per
    map (N x 2 x 3 → N x S x S)."""
    c = (np.arange(side) + 0.5) / side
    t = transforms[:, :, :, None, None]
    x = t[:, 0, 0] * c[None, None, :] + t[:, 0, 1] * c[None, :, None] + t[:, 0, 2]
    y = t[:, 1, 0] * c[None, None, :] + t[:, 1, 1] * c[None, :, None] + t[:, 1, 2]
    return (x >= 0) & (x <= 1) & (y >= 0) & (y <= 1)


def _inverse(transforms: np.ndarray) -> np.ndarray:
    """Inverse maps (N x 2 x 3)."""
    rows = np.broadcast_to([0.0, 0.0, 1.0], (len(transforms), 1, 3))
    return np.linalg.inv(np.concatenate([transforms, rows], axis=1))[:, :2]


def _ink_share(prep: Prepared, i: np.ndarray, other: np.ndarray, inside: np.ndarray
               ) -> np.ndarray:
    """Per pair, the share of picture i's ink that lies inside the overlap: what a crop
    cut off, or a caption added in the margin, is outside it. Blank-ish pictures: the
    share of area."""
    n, side = len(i), prep.light.shape[1]
    own = prep.has_bg[i] | ~prep.has_bg[other]
    bg = np.where(own, i, other)
    light = prep.light[i].astype(np.float32)
    ink = np.abs(light - prep.bg_light[bg][:, None, None]) > INK_LIGHT
    coloured = np.abs(prep.chroma[i].astype(np.float32)
                      - prep.bg_chroma[bg][:, :, None, None]).sum(1) > INK_COLOUR
    ink |= _upsample(coloured, side)
    count = ink.reshape(n, -1).sum(1)
    area = inside.reshape(n, -1).mean(1)
    plain = ~(prep.has_bg[i] | prep.has_bg[other]) | (count < MIN_INK * side * side)
    covered = (ink & inside).reshape(n, -1).sum(1) / np.maximum(count, 1)
    return np.where(plain, area, covered)
