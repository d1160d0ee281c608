"""Per-picture facts for choosing which copy to keep, measured in the scan's decode
workers from the one decode: how much real detail the pixels carry, and where the
picture's fine detail lies.

- `lost`: on full-resolution tiles (the unshrunk frame, where the picture's edges are
  busiest, inside any border), the energy lost when the picture is shrunk to each of
  SCALES and enlarged back, as a share of its gradient energy. A picture whose pixels
  carry detail loses a lot at every scale; an upscaled copy (by s) loses next to
  nothing at 1/s, since it never had more than the smaller picture; a blurred copy
  loses little at every scale. Comparing two copies at the scale that takes the larger
  to the smaller tells whether the larger one's extra pixels carry anything.
- `detail`: a DETAIL x DETAIL map of fine detail over the whole frame, measured at a
  size relative to the picture (the duplicate features' box reduce, shared with them:
  the longest side 128-255 px; the high pass scaled to it), so that two
  copies of one picture at any size give about the same map, except where one has
  something the other lacks (a caption, a watermark).

The record is about 1 KB; `extract` costs about 1 ms of CPU (`bench/dupes_worker_cpu.py`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from illudex.dupes.features import TRIM_SIDE, box_reduced
from illudex.dupes.qualitybytes import NAME as NAME  # re-exported
from illudex.dupes.qualitybytes import VERSION as VERSION
from illudex.imageio import frame_crop, frame_size

if TYPE_CHECKING:
    from PIL import Image

    from illudex.imageio import Decoded, Frame

TILE = 96  # full-resolution tiles the loss of detail is measured on ...
TILES = 3  # ... this many, where the picture has the most fine detail
DETAIL = 32  # side of the detail map
DETAIL_SIDE = 256  # the high pass's width is 1 px at this longest side (scaled to the map's)
_MAGIC = b"IQ1"
SCALES = (0.84, 0.71, 0.5, 0.35)  # shrink factors tried (two quarter octaves, then halves)
MIN_GRADIENT = 4.0  # mean squared gradient below which a tile is flat (nothing to measure)
_HEADER = struct.Struct("<3sBBf")  # magic, detail side, number of scales, measured scale
# SCALES' logarithms, ascending: made once (the keeper asks `lost_at` 30 000 times on a
# corpus of 1 500 pictures).
_LOG_SCALES = np.log(np.array(SCALES))[::-1].copy()


@dataclass(frozen=True)
class Quality:
    lost: np.ndarray  # per SCALES: detail lost by a shrink to it and back (share; NaN: flat)
    scale: float  # measured pixels per file pixel (JPEG draft decodes: < 1)
    detail: np.ndarray  # DETAIL x DETAIL uint8, log fine-detail per cell of the frame

    def lost_at(self, q: float) -> float:
        """Detail lost by shrinking to `q` (of the file's pixels) and back, interpolated
        in log scale; beyond the measured scales, the nearest."""
        q = q / self.scale if self.scale < 1 else q  # a draft decode already lost 1/scale
        return float(np.interp(np.log(min(max(q, 1e-6), 1.0)), _LOG_SCALES, self.lost[::-1]))


def extract(decoded: Decoded) -> bytes:
    """Quality bytes for one decode (needs `decoded.full`, else measures the reduced one)."""
    import cv2  # lazily: imported in decode workers only

    full = decoded.full if decoded.full is not None else decoded.image
    detail, busy, box = detail_map(decoded.image, cv2)
    lost = residuals(_tiles(full, busy, box), cv2)
    scale = frame_size(full)[0] / max(decoded.width, 1)
    return (_HEADER.pack(_MAGIC, DETAIL, len(SCALES), scale)
            + lost.astype("<f4").tobytes() + detail.tobytes())


def decode(data: bytes) -> Quality:
    if len(data) < _HEADER.size or data[:3] != _MAGIC:
        raise ValueError("not a quality record of this version: re-run the scan")
    _, side, n, scale = _HEADER.unpack_from(data)
    lost = np.frombuffer(data, "<f4", n, _HEADER.size).astype(np.float64)
    at = _HEADER.size + 4 * n
    detail = np.frombuffer(data, np.uint8, side * side, at).reshape(side, side)
    return Quality(lost, scale, detail)


def _tiles(
    full: Frame, busy: np.ndarray, box: tuple[float, float, float, float]
) -> list[np.ndarray]:
    """Grey full-resolution tiles around the busiest cells of the detail map (edges,
    lines): a small picture whole, inside its border."""
    fw, fh = frame_size(full)
    bx0, by0, bx1, by1 = box
    if fw * fh <= (1.6 * TILE) ** 2:
        x0, y0, x1, y1 = box
        return [_grey_array(frame_crop(full, (int(x0 * fw), int(y0 * fh),
                                              max(round(x1 * fw), int(x0 * fw) + 1),
                                              max(round(y1 * fh), int(y0 * fh) + 1))))]
    # Cells busiest first, and the tile each would centre on; a mask drops the cells
    # too close to a tile taken (a loop over every cell cost more than the measure).
    order = np.argsort(busy, axis=None)[::-1]
    rows, cols = np.divmod(order, DETAIL)
    xs = np.clip((cols + 0.5) / DETAIL * fw - TILE / 2, 0, max(fw - TILE, 0)).astype(np.int64)
    ys = np.clip((rows + 0.5) / DETAIL * fh - TILE / 2, 0, max(fh - TILE, 0)).astype(np.int64)
    free = np.ones(len(order), dtype=bool)
    out: list[np.ndarray] = []
    while free.any():
        i = int(np.argmax(free))
        x0, y0 = int(xs[i]), int(ys[i])
        # Tiles apart: one busy spot (a caption) must not fill every tile.
        free &= (np.abs(xs - x0) >= TILE) | (np.abs(ys - y0) >= TILE)
        # Inside the border: where a border meets the picture is an edge of no picture.
        left, top = max(x0, int(bx0 * fw)), max(y0, int(by0 * fh))
        right, bottom = min(x0 + TILE, fw, round(bx1 * fw)), min(y0 + TILE, fh, round(by1 * fh))
        if right - left < 16 or bottom - top < 16:
            continue
        out.append(_grey_array(frame_crop(full, (left, top, right, bottom))))
        if len(out) == TILES or busy.flat[order[i]] <= 0:
            break
    return [t for t in out if min(t.shape) >= 16]


def _grey_array(tile: Image.Image) -> np.ndarray:
    """A small picture as float32 grey (Pillow's L). Through bytes: numpy's array
    protocol on a Pillow image costs half as much again on a 96 px tile."""
    grey = tile.convert("L")
    w, h = grey.size
    return np.frombuffer(grey.tobytes(), np.uint8).reshape(h, w).astype(np.float32)


def residuals(tiles: list[np.ndarray], cv2) -> np.ndarray:  # type: ignore[no-untyped-def]
    """For each of SCALES: the energy lost when a tile is shrunk to that scale and
    enlarged back, as a share of its gradient energy; the median over the tiles (a
    caption in one tile must not make the picture look sharper). NaN: all flat."""
    per_tile = []
    sq = cv2.NORM_L2SQR  # sums of squared differences in C, no numpy temporaries
    for t in tiles:
        h, w = t.shape
        m = 6 if min(h, w) > 40 else 1
        grad = (cv2.norm(t[:, 1:], t[:, :-1], sq) / (h * (w - 1))
                + cv2.norm(t[1:], t[:-1], sq) / ((h - 1) * w))
        if grad < MIN_GRADIENT:
            continue
        inner = t[m:h - m, m:w - m]
        lost = np.empty(len(SCALES))
        for k, q in enumerate(SCALES):
            small = cv2.resize(t, (max(2, round(w * q)), max(2, round(h * q))),
                               interpolation=cv2.INTER_AREA)
            back = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
            lost[k] = cv2.norm(inner, back[m:h - m, m:w - m], sq) / (inner.size * grad)
        per_tile.append(lost)
    if not per_tile:
        return np.full(len(SCALES), np.nan)
    # np.median's values (the middle one, or the mean of the middle two) for a quarter
    # of its time on these few tiles.
    ranked = np.sort(np.array(per_tile), axis=0)
    n = len(per_tile)
    return (ranked[(n - 1) // 2] + ranked[n // 2]) / 2


def detail_map(  # type: ignore[no-untyped-def]
    image: Image.Image, cv2
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """DETAIL x DETAIL map of fine detail over the frame, seen at the features' reduced
    size (log2 scale, 16 steps an octave); the same cells' plain mean detail inside any border
    (where tiles go); and the box inside the border (0..1 of the frame)."""
    # The duplicate features' box reduce, computed once for both: a reduce of its own
    # (to <= 256 px) was a fifth of this record's time.
    factor = max(1, max(image.size) // TRIM_SIDE)
    grey = np.asarray(box_reduced(image, factor).convert("L"))
    g = grey.astype(np.float32)
    if min(g.shape) < DETAIL:
        g = cv2.resize(g, (max(DETAIL, g.shape[1]), max(DETAIL, g.shape[0])))
        grey = g
    # The high pass at a fixed share of the picture's size: copies of any size agree.
    sigma = max(g.shape) / DETAIL_SIDE
    hp = cv2.absdiff(g, cv2.GaussianBlur(g, (0, 0), sigma, borderType=cv2.BORDER_REFLECT))
    cells = cv2.resize(hp, (DETAIL, DETAIL), interpolation=cv2.INTER_AREA)
    busy = cells.copy()
    x0, y0, x1, y1 = _trim(grey)  # on bytes where it can: a quarter of the memory to scan
    # Tiles go inside the picture: where a border meets it is an edge of no picture.
    inside = np.zeros_like(busy, dtype=bool)
    inside[y0 * DETAIL // g.shape[0] + 1:max(y1 * DETAIL // g.shape[0] - 1, 1),
           x0 * DETAIL // g.shape[1] + 1:max(x1 * DETAIL // g.shape[1] - 1, 1)] = True
    busy[~inside] = 0.0 if inside.any() else busy[~inside]
    gh, gw = g.shape
    # One more line off each side: where a border meets the picture, the reduced lines
    # are a blend of the two, which no uniform-line trim peels.
    x0, y0, x1, y1 = x0 + 1, y0 + 1, max(x1 - 1, x0 + 2), max(y1 - 1, y0 + 2)
    return (np.clip(np.log2(1 + cells * 4) * 16, 0, 255).astype(np.uint8), busy,
            (x0 / gw, y0 / gh, x1 / gw, y1 / gh))


def _trim(grey: np.ndarray, tol: float = 24.0) -> tuple[int, int, int, int]:
    """The box (x0, y0, x1, y1) inside uniform rows and columns at the edges."""
    def run(lo: np.ndarray, hi: np.ndarray) -> int:
        flat = (hi - lo) <= tol
        return int(np.argmin(flat)) if not flat.all() else len(flat)

    rows_lo, rows_hi = grey.min(axis=1), grey.max(axis=1)
    cols_lo, cols_hi = grey.min(axis=0), grey.max(axis=0)
    h, w = grey.shape
    top, bottom = run(rows_lo, rows_hi), run(rows_lo[::-1], rows_hi[::-1])
    left, right = run(cols_lo, cols_hi), run(cols_lo[::-1], cols_hi[::-1])
    if top + bottom >= h or left + right >= w:
        return 0, 0, w, h
    return left, top, w - right, h - bottom
