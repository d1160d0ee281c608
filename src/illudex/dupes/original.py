"""Which copy of a picture the others were made from: every pair of copies is compared
on what edits leave behind, and the copy that wins (or ties) against the most others
is the original. What lost each comparison is said in words.

Each comparison, in order (the first that tells the two apart decides):
1. Detail at a common scale. The larger copy's extra pixels count only if they carry
   detail: shrunk to the smaller copy's scale and back, it must lose about as much as
   a picture whose pixels carry detail (the smaller one) loses. An upscaled copy loses
   next to nothing; a blurred copy of the same size loses much less than the sharp one.
2. Lossless over lossy (a JPEG/WebP re-encode of a PNG).
3. No added local detail (a caption or watermark: a compact spot of the detail map
   where one copy has fine detail that most other copies lack).
4. No even border around the same content: the frame grew by exactly as many pixels
   across as down (frame sizes are exact; a crop cuts sides unevenly), and the trimmed
   boxes put about that much on every side.
5. More of the picture: by content and frame alike, or the same content in a frame
   that holds the other's on both axes (the other copy is cropped, if only margin).
Ties are left to the caller's next criteria (lossless, tags, age, path).

Needs numpy and the stored quality records; the verdict per group is cached by the
finder, so a re-run does not load this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from illudex.dupes.features import TRIM_SIDE
from illudex.dupes.quality import DETAIL, SCALES, Quality

LOSSY_FORMATS = frozenset({"JPEG", "WEBP", "MPO", "AVIF", "HEIF", "JPEG2000"})
SAME_SCALE = 1.08  # copies within this linear scale of each other are the same size
DETAIL_KEPT = 0.62  # the larger copy carries detail if it loses this much of the smaller's
SHARPER = 1.6  # same size: one loses this many times more detail at both top scales ...
SHARPER_LOSSY = 3.0  # ... or this many, when it is the lossy one ...
SHARPER_APART = 2.8  # ... or this many, when the frames differ (a border, a crop): the
# loss is measured on a few tiles placed by the frame's detail grid, so two frames put
# them on different parts of the picture
SHARP_FLOOR = 0.02  # the sharper copy loses at least this at the second scale: below,
# neither has fine detail to lose (a smooth gradient) and the ratio is noise
MARK_STEP = 16  # detail map units (16 an octave) above every other copy: an added mark
MARK_CELLS = 2  # ... over at least this many cells ...
MARK_SHARE = 0.12  # ... and at most this share of the cells with detail
MARK_FLOOR = 16  # a cell has detail above this
BORDER_PX = 2  # a border adds at least this many pixels on every side
BOX_ERROR = 0.9  # a trimmed box side is this many reduced pixels (+0.5 px) off, at
# most (boxes are measured on the picture reduced to TRIM_SIDE: 1-8 px a reduced pixel)
CROP_ASPECT = 0.015  # content aspect ratios this far apart: one copy is cropped
COVERAGE = 1.03  # one copy's content this much larger (linear) at the same detail: the
# other is cropped (a border or margin changes the frame, not the content)
MAP = 24  # side of the common grid detail maps are compared on
_CENTRES = (np.arange(MAP) + 0.5) / MAP  # the grid's cell centres, 0..1


@dataclass(frozen=True)
class Copy:
    """One copy's facts: its file, the trimmed content box (0..1 of the frame) and the
    quality record (None: not measured)."""

    key: str
    width: int
    height: int
    format: str
    box: tuple[float, float, float, float]
    quality: Quality | None


@dataclass(frozen=True)
class Verdict:
    score: float  # wins minus losses against the other copies of the group
    defect: str  # what set this copy apart from the best one ("" for the best)


def judge(copies: list[Copy]) -> dict[str, Verdict]:
    """A verdict for each copy (by key)."""
    n = len(copies)
    # Each pair's detail comparison, once: the marks and the verdicts both need it.
    detail = {}
    for i in range(n):
        for j in range(i + 1, n):
            outcome, defect = _detail(copies[i], copies[j])
            detail[(i, j)], detail[(j, i)] = (outcome, defect), (-outcome, defect)
    marks = _added_marks(copies, detail)
    wins = np.zeros(n)
    beaten: dict[tuple[int, int], str] = {}
    for i in range(n):
        for j in range(i + 1, n):
            outcome, defect = compare(copies[i], copies[j], marks[i], marks[j], detail[(i, j)])
            wins[i] += outcome
            wins[j] -= outcome
            if outcome > 0:
                beaten[(i, j)] = defect
            elif outcome < 0:
                beaten[(j, i)] = defect
    best = int(np.argmax(wins))
    return {
        c.key: Verdict(float(wins[k]), "" if k == best else beaten.get((best, k), ""))
        for k, c in enumerate(copies)
    }


def compare(a: Copy, b: Copy, mark_a: str, mark_b: str,
            detail: tuple[int, str] | None = None) -> tuple[int, str]:
    """+1 if a is more likely the original, -1 if b is, 0 if they cannot be told
    apart; and what the losing copy shows. `detail`: `_detail(a, b)`, if known."""
    for rule in (_detail, _lossless, _marks, _border, _coverage):
        known = rule is _detail and detail is not None
        outcome, defect = detail if known else rule(a, b, mark_a, mark_b)
        if outcome and defect == "blurred" and _spot(*((a, b) if outcome > 0 else (b, a))):
            continue  # the sharper tiles may be the mark's: a caption is sharp detail
        if outcome:
            return outcome, defect
    return 0, ""


def _content_px(c: Copy) -> tuple[float, float]:
    x0, y0, x1, y1 = c.box
    return max(c.width * (x1 - x0), 1.0), max(c.height * (y1 - y0), 1.0)


def _scale(a: Copy, b: Copy) -> float:
    """How many times larger (linear) a's picture is than b's: by the trimmed contents
    or by the whole frames, whichever is nearer to the same size. A border, a caption
    in the margin or a crop changes one of the two and not the picture's scale; a
    resize changes both."""
    by_content = _content_scale(a, b)
    by_frame = float(np.sqrt(a.width * a.height / max(b.width * b.height, 1)))
    return min(by_content, by_frame, key=lambda r: abs(np.log(r)))


def _size(c: Copy) -> str:
    w, h = _content_px(c)
    return f"{round(w)}×{round(h)}"


def _detail(a: Copy, b: Copy, *_: str) -> tuple[int, str]:
    if a.quality is None or b.quality is None:
        return 0, ""
    rho = _scale(a, b)
    if rho < 1:
        outcome, defect = _detail(b, a)
        return -outcome, defect
    top = SCALES[0]
    q = min(1 / rho, top)
    la, lb = a.quality.lost_at(q), b.quality.lost_at(q)
    ta, tb = a.quality.lost_at(top), b.quality.lost_at(top)
    if not all(np.isfinite(v) and v > 0 for v in (la, lb, ta, tb)):
        return 0, ""
    if rho >= SAME_SCALE:
        # The band the larger copy has beyond the smaller one's pixels, and the top of
        # each one's own pixels: an upscale is empty in both.
        if np.sqrt(la / lb * ta / tb) >= DETAIL_KEPT:
            kind = "cropped" if _aspect_differs(a, b) else "downscaled"
            return 1, f"{kind} ({_size(b)} vs {_size(a)})"
        return -1, f"upscaled ({_size(a)} with the detail of {_size(b)})"
    # The same size: is one blurred? A blur lowers both top bands; the tiles' sampling
    # (other parts of the picture) moves one more than the other, so both must agree.
    # JPEG/WebP noise sharpens the top band: a lossy copy must be much sharper than a
    # lossless one to call that one blurred.
    second = SCALES[1]
    sa, sb = a.quality.lost_at(second), b.quality.lost_at(second)
    ratios = (ta / tb, sa / sb)
    if min(ratios) >= _sharper(a, b) and sa >= SHARP_FLOOR:
        return 1, "blurred"
    if max(ratios) <= 1 / _sharper(b, a) and sb >= SHARP_FLOOR:
        return -1, "blurred"
    return 0, ""


def _sharper(sharp: Copy, other: Copy) -> float:
    """How many times more detail `sharp` must lose to call `other` blurred."""
    ratio = SHARPER_LOSSY if _lossy(sharp) and not _lossy(other) else SHARPER
    if (sharp.width, sharp.height) != (other.width, other.height):
        ratio = max(ratio, SHARPER_APART)
    return ratio


def _lossy(c: Copy) -> bool:
    return c.format.upper() in LOSSY_FORMATS


def _aspect_differs(a: Copy, b: Copy) -> bool:
    (aw, ah), (bw, bh) = _content_px(a), _content_px(b)
    return abs(np.log((aw / ah) / (bw / bh))) > CROP_ASPECT


def _lossless(a: Copy, b: Copy, *_: str) -> tuple[int, str]:
    la, lb = _lossy(a), _lossy(b)
    if la == lb:
        return 0, ""
    lossy = a if la else b
    return (-1 if la else 1), f"re-encoded as {lossy.format}"


def _marks(a: Copy, b: Copy, mark_a: str, mark_b: str) -> tuple[int, str]:
    if bool(mark_a) == bool(mark_b):
        return 0, ""
    return (-1, mark_a) if mark_a else (1, mark_b)


def _coverage(a: Copy, b: Copy, *_: str) -> tuple[int, str]:
    """Same detail, but one shows more of the picture: more content and a larger frame
    alike (a caption in the margin grows only the content box, a border only the
    frame), or the same content in a frame larger on both axes that is no even border
    (a crop that cut only margin). The other is cropped."""
    if abs(np.log(_scale(a, b))) >= np.log(SAME_SCALE):
        return 0, ""  # not one scale (the detail could not tell an upscale): no crop
    if _more_of(a, b) or _margin_cut(a, b):
        return 1, "cropped"
    if _more_of(b, a) or _margin_cut(b, a):
        return -1, "cropped"
    return 0, ""


def _more_of(a: Copy, b: Copy) -> bool:
    """a's content and frame are both larger than b's, beyond what boxes are sure of."""
    frame = float(np.sqrt(a.width * a.height / max(b.width * b.height, 1)))
    if min(_content_scale(a, b), frame) < COVERAGE:
        return False
    (aw, ah), (bw, bh) = _content_px(a), _content_px(b)
    return max(aw - bw, ah - bh) > _box_error(a) + _box_error(b)


def _margin_cut(a: Copy, b: Copy) -> bool:
    """b is a with margin cut off: a's frame is larger across and down, the content the
    same (within what the boxes are sure of), and what a has more is no even border."""
    dw, dh = a.width - b.width, a.height - b.height
    if dw <= 0 or dh <= 0 or not _same_content(a, b):
        return False
    if dw != dh:
        return True
    return _side_error(a, b) > 2 * (_box_error(a) + _box_error(b))


def _same_content(a: Copy, b: Copy) -> bool:
    (aw, ah), (bw, bh) = _content_px(a), _content_px(b)
    slack = _box_error(a) + _box_error(b)
    return (abs(np.log(_content_scale(a, b))) < np.log(COVERAGE)
            or max(abs(aw - bw), abs(ah - bh)) <= slack)


def _box_error(c: Copy) -> float:
    """Pixels (of c's frame) a side of c's trimmed box may be off."""
    return BOX_ERROR * max(1, max(c.width, c.height) // TRIM_SIDE) + 0.5


def _content_scale(a: Copy, b: Copy) -> float:
    (aw, ah), (bw, bh) = _content_px(a), _content_px(b)
    return float(np.sqrt(aw * ah / (bw * bh)))


def _border(a: Copy, b: Copy, *_: str) -> tuple[int, str]:
    """One copy has an even frame or margin around the same content that the other
    lacks: a border added on every side (a crop cuts sides unevenly)."""
    added = _added_border(a, b)
    if added:
        return -1, f"{added} px border"
    added = _added_border(b, a)
    return (1, f"{added} px border") if added else (0, "")


def _added_border(a: Copy, b: Copy) -> int:
    """Pixels of border a has beyond b on every side, around the same content (0: none).
    A border grows the frame by exactly as many pixels across as down; the trimmed
    boxes (a few pixels precise) must put about half of that on each side."""
    dw, dh = a.width - b.width, a.height - b.height
    if dw != dh or dw < 2 * BORDER_PX or not _same_content(a, b):
        return 0
    if _side_error(a, b) > _box_error(a) + _box_error(b):
        return 0
    return dw // 2


def _side_error(a: Copy, b: Copy) -> float:
    """How far the pixels a has beyond b on each side (by the trimmed boxes) are from an
    even border of the frames' difference: the largest of the four."""
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    extra = np.array([
        ax0 * a.width - bx0 * b.width, ay0 * a.height - by0 * b.height,
        (1 - ax1) * a.width - (1 - bx1) * b.width, (1 - ay1) * a.height - (1 - by1) * b.height,
    ])
    return float(np.abs(extra - (a.width - b.width) / 2).max())


def _added_marks(copies: list[Copy], detail: dict[tuple[int, int], tuple[int, str]]
                 ) -> list[str]:
    """For each copy: where it has fine detail that most other copies lack ("" if
    nowhere). A caption or a watermark is a compact spot; a sharper copy (the others
    blurred) differs all over, which is no mark. Most, not all: a copy that lines up
    poorly must not hide a mark; and a copy of the same frame size (which lines up cell
    for cell) counts twice, so that one loosely aligned copy alone cannot make a mark."""
    out = []
    maps = [_content_map(c) if c.quality else None for c in copies]
    spread = [_content_map(c, spread=True) if c.quality else None for c in copies]
    for k, c in enumerate(copies):
        votes, weights = [], []
        for j, other in enumerate(copies):
            if j == k or detail[(k, j)][0] > 0:
                continue  # a copy with less detail (smaller, blurred) is no reference
            if (cells := _extra_cells(c, other, maps[k], spread[j])) is not None:
                votes.append(cells)
                weights.append(2 if (c.width, c.height) == (other.width, other.height) else 1)
        if not votes:
            out.append("")
            continue
        yes = np.tensordot(np.array(weights, np.float32), np.array(votes, np.float32), 1)
        extra = (yes >= 2) & (yes * 2 > sum(weights))
        out.append(_where(extra) if extra.sum() >= MARK_CELLS else "")
    return out


def _spot(sharp: Copy, other: Copy) -> bool:
    """Whether the copy that looks sharper has its extra fine detail in a compact spot
    (a caption, a mark), cell for cell in frames of one size, rather than all over (the
    other blurred)."""
    if sharp.quality is None or other.quality is None or (
            (sharp.width, sharp.height) != (other.width, other.height)):
        return False
    found = _excess(sharp.quality.detail.astype(np.float32),
                    other.quality.detail.astype(np.float32))
    return found is not None and MARK_CELLS <= found[0].sum() <= MARK_SHARE * found[1]


def _excess(m: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Cells where detail map m is well above o (beyond their usual difference), and
    how many cells have detail in either (None: none has)."""
    active = np.maximum(m, o) > MARK_FLOOR
    if not active.any():
        return None
    diff = m - o
    return (diff - np.median(diff[active])) > MARK_STEP, int(active.sum())


def _extra_cells(c: Copy, other: Copy, content: np.ndarray | None,
                 other_spread: np.ndarray | None) -> np.ndarray | None:
    """Cells where c has much more fine detail than `other` (None: cannot tell). Frames of
    one size are compared cell by cell; contents of one shape (resized, bordered) through
    their trimmed boxes, each cell of `other` standing for its neighbourhood (the two
    line up only so well); contents of different shapes (one cropped) not at all.
    `content`, `other_spread`: c's `_content_map` and other's spread one. The caller
    has ruled out an `other` with less detail than c."""
    if c.quality is None or other.quality is None or (_lossy(other) and not _lossy(c)):
        return None  # a lossy copy is no reference for a lossless one
    if (c.width, c.height) == (other.width, other.height):
        m, o = c.quality.detail.astype(np.float32), other.quality.detail.astype(np.float32)
    elif _aspect_differs(c, other):
        return None  # one is cropped: what it cut off would look like c's mark
    else:
        # Each cell of `other` stands for its neighbourhood in its own detail map (the
        # grids of two frames line up only to a cell, which a narrow content box
        # stretches over several cells of the common grid).
        assert content is not None and other_spread is not None
        m, o = content, other_spread
    found = _excess(m, o)
    if found is None:
        return None
    extra, active = found
    if extra.sum() > MARK_SHARE * active:
        extra[:] = False  # spread all over: sharper or noisier, not a mark
    return extra if extra.shape == (MAP, MAP) else _to_map(extra)


def _to_map(cells: np.ndarray) -> np.ndarray:
    idx = (np.arange(MAP) * cells.shape[0]) // MAP
    return cells[idx[:, None], idx[None, :]]


def _content_map(c: Copy, spread: bool = False) -> np.ndarray:
    """The copy's detail map over its trimmed content, on a MAP x MAP grid (float);
    `spread`: each cell the most of its neighbourhood."""
    assert c.quality is not None
    x0, y0, x1, y1 = c.box
    d = c.quality.detail.astype(np.float32)
    d = _dilate(d) if spread else d
    # Boxes lie in 0..1, so the cells are >= 0 (np.clip costs more than the rest here).
    xs = np.minimum(((x0 + (x1 - x0) * _CENTRES) * DETAIL).astype(int), DETAIL - 1)
    ys = np.minimum(((y0 + (y1 - y0) * _CENTRES) * DETAIL).astype(int), DETAIL - 1)
    return d[ys[:, None], xs[None, :]]


def _dilate(m: np.ndarray) -> np.ndarray:
    p = np.pad(m, 1, mode="edge")
    rows = np.maximum(np.maximum(p[:-2], p[1:-1]), p[2:])
    return np.maximum(np.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def _where(cells: np.ndarray) -> str:
    ys, xs = np.nonzero(cells)
    cy, cx = ys.mean() / MAP, xs.mean() / MAP
    vertical = "top" if cy < 1 / 3 else "bottom" if cy > 2 / 3 else "middle"
    horizontal = "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "centre"
    place = "centre" if vertical == "middle" and horizontal == "centre" else (
        f"{vertical} {horizontal}" if vertical != "middle" else f"middle {horizontal}")
    return f"added text or mark at {place}"
