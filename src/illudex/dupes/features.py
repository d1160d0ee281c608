"""The per-image feature the duplicate engine compares: a small thumbnail of the
picture's *content*, after uniform borders are trimmed.

Trimming (repeatedly: a black frame around a white margin) makes bordered copies and
copies with other margins line up. The content is stretched to a square, so that
every picture has the same layout, and kept as lightness (HSL: (max+min)/2, which a
hue rotation leaves alone) at 48 px plus two opponent-colour channels at 24 px (like
JPEG's chroma subsampling). A 16 px grey thumbnail of the whole frame and the trimmed
box's place in it find and align copies whose trim differs (a caption in the margin).
The background kept is the paper the content shows (`paper_colour`), which is not
always the colour trimmed off last (a black frame round a full-bleed sketch).

Everything the engine needs later (search vectors, alignment, the colour comparison)
comes from these ~3.4 KB, so the engine never re-decodes a file. `extract` runs in
decode worker processes on `Decoded.image` and costs about a millisecond.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from PIL import Image

from illudex.dupes.featurebytes import _FRAC, _HEADER, _MAGIC, HEADER_SIZE
from illudex.dupes.featurebytes import NAME as NAME  # re-exported: the analyser's name
from illudex.dupes.featurebytes import VERSION as VERSION

LIGHT = 48  # side of the stored square lightness thumbnail of the content
CHROMA = 24  # side of the two stored colour channels
FRAME = 16  # side of the stored whole-frame grey thumbnail
TRIM_SIDE = 128  # trimming works on a copy reduced (box filter) to about this longest side
TRIM_TOL = 40  # a row is "uniform" when every channel stays within this of the edge colour
TRIM_ROUNDS = 4  # a frame inside a margin inside a frame ...
PAPER_TINT = 8  # light paper this far from grey is tinted (a margin, not a drawn line)
BLEND_LINES = 2  # lines of blend allowed between a frame and what it surrounds
PAPER_CHROMA = 30  # a trimmable colour is grey: channels within this of each other ...
PAPER_LIGHT = 180  # ... and light (all channels at least this) or dark (at most 255 - this)
PAPER_SHARE = 0.3  # the paper: a paper-like colour covering this share of the content
FEATURE_SIZE = HEADER_SIZE + LIGHT * LIGHT + CHROMA * CHROMA * 2 + FRAME * FRAME


@dataclass(frozen=True)
class Feature:
    """A decoded feature: the content thumbnails and where the content sits in the frame."""

    light: np.ndarray  # LIGHT x LIGHT uint8: HSL lightness of the trimmed content, stretched
    chroma: np.ndarray  # CHROMA x CHROMA x 2 int8: (R-G)/2 and ((R+G)/2-B)/2
    frame: np.ndarray  # FRAME x FRAME uint8 grey of the whole picture, stretched
    box: tuple[float, float, float, float]  # trimmed content x0, y0, x1, y1 in 0..1 of frame
    background: tuple[int, int, int] | None  # colour trimmed off last (the paper), if any


def extract(image: Image.Image) -> bytes:
    """Feature bytes for one decoded picture (RGB, any size; small thumbnails are fine)."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    if image.mode != "RGB":
        image = image.convert("RGB")
    factor = max(1, max(image.size) // TRIM_SIDE)
    rgb = np.asarray(box_reduced(image, factor))  # box filter: cheap, keeps thin lines
    content, box, background = _trimmed_content(image, rgb, factor)
    light, chroma, small_rgb = content_thumbnails(content)
    background = paper_colour(small_rgb, background)
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    frame = cv2.resize(grey, (FRAME, FRAME), interpolation=cv2.INTER_AREA)
    return encode(light, chroma, frame, box, background)


def _trimmed_content(
    image: Image.Image, rgb: np.ndarray, factor: int
) -> tuple[np.ndarray, tuple[float, float, float, float], tuple[int, int, int] | None]:
    """The content's pixels (reduced), its box in the frame (0..1) and the background.
    A dark frame is taken off at full resolution first: reduced, its inner edge blends
    with a light margin into a grey that no side would peel."""
    w, h = image.size
    framed = dark_frame(image)
    source, left, top = image, 0, 0
    if framed is not None:
        left, top, right, bottom = framed[:4]
        source = image.crop((left, top, right, bottom))
        factor = max(1, max(source.size) // TRIM_SIDE)
        rgb = np.asarray(source.reduce(factor) if factor > 1 else source)
    y0, y1, x0, x1, background = trim_box(rgb)
    if framed is not None and background is None:
        background = framed[4]
    hs, ws = rgb.shape[:2]
    sw, sh = source.size
    if factor > 1 and min(y1 - y0, x1 - x0) < LIGHT:
        # Little content in a big frame: take it from the full decode, for detail.
        crop = (x0 * sw // ws, y0 * sh // hs, -(-x1 * sw // ws), -(-y1 * sh // hs))
        content = np.asarray(source.crop(crop))
    else:
        content = rgb[y0:y1, x0:x1]
    box = ((left + x0 * sw / ws) / w, (top + y0 * sh / hs) / h,
           (left + x1 * sw / ws) / w, (top + y1 * sh / hs) / h)
    return content, box, background


def dark_frame(image: Image.Image) -> tuple[int, int, int, int, tuple[int, int, int]] | None:
    """A border of one dark colour on all four sides, found at full resolution: its
    inner box (left, top, right, bottom) and colour; None if there is none."""
    w, h = image.size
    if min(w, h) < 16:
        return None
    corner = image.getpixel((0, 0))
    assert isinstance(corner, tuple)
    colour = np.array(corner[:3], np.int16)
    if not _paper_like(colour) or int(colour.max()) > 255 - PAPER_LIGHT:
        return None
    sides = [_dark_run(image, side, colour) for side in range(4)]
    if min(sides) == 0:
        return None
    left, top, right, bottom = sides
    return left, top, w - right, h - bottom, (int(colour[0]), int(colour[1]), int(colour[2]))


def _dark_run(image: Image.Image, side: int, colour: np.ndarray) -> int:
    """How many whole lines from `side` (0 left, 1 top, 2 right, 3 bottom) stay within
    TRIM_TOL of `colour`: looked at in growing strips. 0 if a quarter of the picture
    does (a dark field or a blank, not a frame)."""
    w, h = image.size
    limit = (w if side in (0, 2) else h) // 4
    depth = 8
    while True:
        d = min(depth, limit)
        strip = {0: (0, 0, d, h), 1: (0, 0, w, d), 2: (w - d, 0, w, h), 3: (0, h - d, w, h)}[side]
        lines = np.asarray(image.crop(strip)).astype(np.int16)
        if side in (0, 2):
            lines = lines.transpose(1, 0, 2)  # one line per row
        if side in (2, 3):
            lines = lines[::-1]  # from the edge inwards
        off = np.abs(lines - colour).max(axis=(1, 2)) > TRIM_TOL
        if off.any():
            return int(np.argmax(off))
        if d >= limit:
            return 0
        depth *= 2


_last: tuple[weakref.ref[Image.Image], int, Image.Image] | None = None


def box_reduced(image: Image.Image, factor: int) -> Image.Image:
    """`image.reduce(factor)`, remembered for the last picture: the features and the
    quality record of one decode share it, whichever runs first (the reduce was a fifth
    of both analysers' time)."""
    global _last
    last = _last  # one read: another thread may replace it meanwhile
    if last is not None and last[0]() is image and last[1] == factor:
        return last[2]
    small = image.reduce(factor) if factor > 1 else image
    _last = (weakref.ref(image), factor, small)
    return small


def content_thumbnails(content: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB content → (lightness LIGHT², uint8; opponent colours CHROMA²x2, int8; the
    LIGHT² RGB thumbnail they came from)."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    rgb = cv2.resize(np.ascontiguousarray(content), (LIGHT, LIGHT), interpolation=cv2.INTER_AREA)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Channel by channel: numpy's max over a last axis of 3 took ten times as long.
    hi = cv2.max(cv2.max(r, g), b).astype(np.uint16)
    lo = cv2.min(cv2.min(r, g), b).astype(np.uint16)
    light = ((hi + lo + 1) >> 1).astype(np.uint8)
    small = cv2.resize(rgb, (CHROMA, CHROMA), interpolation=cv2.INTER_AREA).astype(np.int16)
    r, g, b = small[..., 0], small[..., 1], small[..., 2]
    chroma = np.stack([(r - g) // 2, ((r + g) // 2 - b) // 2], axis=-1).astype(np.int8)
    return light, chroma, rgb


def paper_colour(
    rgb: np.ndarray, peeled: tuple[int, int, int] | None
) -> tuple[int, int, int] | None:
    """The paper the content is drawn on. The colour trimmed off last (`peeled`) when
    the content shows it on at least PAPER_SHARE of its area; else the content's
    commonest paper-like colour, if that covers as much; else `peeled`. The colour
    trimmed off last is not always the paper: a black frame round a drawing that
    touches its edges, a sign's grey outline, or nothing trimmed from a full-bleed
    sketch."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if peeled is not None:
        near = _near(rgb, np.array(peeled))  # one range test for the share and the median
        if near.mean() >= PAPER_SHARE:
            return _median_of(rgb, near, np.array(peeled))  # the trim saw a blend of it
    q = rgb.reshape(-1, 3).astype(np.int16) >> 4
    counts = np.bincount((q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2], minlength=4096)
    for key in np.argsort(-counts, kind="stable")[:4]:
        centre = (np.array([key >> 8, (key >> 4) & 15, key & 15]) << 4) + 8
        colour = np.array(_median_near(rgb, centre))
        if _paper_like(colour):
            near = _near(rgb, colour)
            if near.mean() >= PAPER_SHARE:
                return _median_of(rgb, near, colour)
    return peeled


def _near(rgb: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Pixels (flat mask) whose every channel is within TRIM_TOL // 2 of `colour`.
    OpenCV's range test: a tenth of the time of the same test in numpy."""
    import cv2  # lazily: a re-run answered from the cache never needs it
    tol = TRIM_TOL // 2
    lo = tuple(float(v - tol) for v in colour)
    hi = tuple(float(v + tol) for v in colour)
    return cv2.inRange(rgb, lo, hi).ravel() > 0


def _median_near(rgb: np.ndarray, colour: np.ndarray) -> tuple[int, int, int]:
    return _median_of(rgb, _near(rgb, colour), colour)


def _median_of(rgb: np.ndarray, near: np.ndarray, colour: np.ndarray) -> tuple[int, int, int]:
    """The median colour of the pixels in the mask `near`; `colour` when it is empty."""
    m = np.median(rgb.reshape(-1, 3)[near], axis=0) if near.any() else colour
    return int(m[0]), int(m[1]), int(m[2])


def trim_box(rgb: np.ndarray) -> tuple[int, int, int, int, tuple[int, int, int] | None]:
    """Box (y0, y1, x0, x1) left after peeling uniform rows/columns off each side; and
    the colour peeled last (the background), if any.

    The first round peels each side on its own (a margin need not surround the
    picture). Later rounds run only while the previous one peeled all four sides in
    one colour (a frame). Inside a dark frame (a border added round a picture) the
    sides peel on their own again, as they would on the picture without it; inside a
    light one, a round counts as a whole frame, or else only for its sides of tinted
    paper (the picture's own margin; a drawn line or its blend is grey). So a frame
    round a margin goes, but the stripes of a flag, or a line drawn along two edges of
    a sketch (which a copy at another scale would peel differently), stay."""
    planes = np.ascontiguousarray(rgb.transpose(2, 0, 1))  # per-channel rows reduce fast
    h, w = rgb.shape[:2]
    y0, y1, x0, x1 = 0, h, 0, w
    background = None
    per_side = True
    for _ in range(TRIM_ROUNDS):
        sides, blank = _trim_once(planes[:, y0:y1, x0:x1])
        if blank is not None or not any(n for n, _ in sides):
            background = blank or background
            break
        frame = _is_frame(sides)
        if not (per_side or frame):
            sides = [(n, c) if _tinted(c) else (0, None) for n, c in sides]
            if not any(n for n, _ in sides):
                break
        (top, _), (bottom, _), (left, _), (right, _) = sides
        y0, y1, x0, x1 = y0 + top, y1 - bottom, x0 + left, x1 - right
        background = max(((n, c) for n, c in sides if n), key=lambda nc: nc[0])[1]
        per_side = frame and not _light(background)
        if not frame:
            break
    return y0, y1, x0, x1, background


Side = tuple[int, tuple[int, int, int] | None]  # lines peeled off one side, and their colour


def _trim_once(planes: np.ndarray) -> tuple[list[Side], tuple[int, int, int] | None]:
    """One round of peeling: what each side (top, bottom, left, right) peels, and the
    colour if the whole picture is that one colour (a blank: nothing to peel)."""
    h, w = planes.shape[1:]
    if h < 8 or w < 8:
        return [(0, None)] * 4, None
    # Line ends are left out: where two blend lines cross, the corner is a blend of both.
    # Per channel (3 x lines): tests across the channels are then three row operations.
    rows, cols = planes[:, :, BLEND_LINES:-BLEND_LINES], planes[:, BLEND_LINES:-BLEND_LINES, :]
    rows_lo, rows_hi = rows.min(axis=2).astype(np.int16), rows.max(axis=2).astype(np.int16)
    cols_lo, cols_hi = cols.min(axis=1).astype(np.int16), cols.max(axis=1).astype(np.int16)
    sides = [_peel(rows_lo, rows_hi), _peel(rows_lo[:, ::-1], rows_hi[:, ::-1]),
             _peel(cols_lo, cols_hi), _peel(cols_lo[:, ::-1], cols_hi[:, ::-1])]
    (top, _), (bottom, _), (left, _), (right, _) = sides
    if top + bottom >= h - 4 or left + right >= w - 4:
        # Blank (all one colour): keep the box, but call the colour the background.
        return [(0, None)] * 4, max((nc for nc in sides if nc[0]), key=lambda nc: nc[0])[1]
    return sides, None


def _is_frame(sides: list[Side]) -> bool:
    """All four sides peeled, in one paper colour."""
    colours = [c for n, c in sides if n]
    return len(colours) == 4 and all(_alike(c, colours[0]) for c in colours)


def _tinted(colour: tuple[int, int, int] | None) -> bool:
    """Light paper of a colour (not grey): inside a white frame, the picture's own
    margin, which a drawn line or its blend with the paper never is."""
    return _light(colour) and colour is not None and max(colour) - min(colour) > PAPER_TINT


def _light(colour: tuple[int, int, int] | None) -> bool:
    return colour is not None and min(colour) >= PAPER_LIGHT


def _alike(a: tuple[int, int, int] | None, b: tuple[int, int, int] | None) -> bool:
    """The same paper colour (light with light, dark with dark): the line where a frame
    meets the margin is a blend, grey by a different amount on each side once reduced."""
    return a is not None and b is not None and _light(a) == _light(b)


def _peel(lo: np.ndarray, hi: np.ndarray) -> tuple[int, tuple[int, int, int] | None]:
    """How many leading lines are uniform in one paper-like colour, and that colour
    (`lo`, `hi`: 3 x lines, each channel's extremes along each line). Up to BLEND_LINES
    uniform lines of other colours may come first: where a frame meets the margin, the
    reduced picture has a line that is a blend of the two."""
    flat = hi - lo <= TRIM_TOL
    uniform = flat[0] & flat[1] & flat[2]
    if not uniform[0]:
        return 0, None
    mid = (lo + hi) // 2
    lines = mid.shape[1]
    start = 0
    while (start < BLEND_LINES and start + 1 < lines and uniform[start + 1]
           and np.abs(mid[:, start] - mid[:, start + 1]).max() > TRIM_TOL // 2):
        start += 1
    colour = mid[:, start]
    if not _paper_like(colour):
        # A blend line that leads to no paper (a frame's inner edge against a drawing,
        # or the reduce's part block at the far side): peel the first colour alone.
        start, colour = 0, mid[:, 0]
        if not _paper_like(colour):
            return 0, None
    near = np.abs(mid - colour[:, None]) <= TRIM_TOL // 2
    ok = uniform & near[0] & near[1] & near[2]
    ok[:start] = True
    n = int(np.argmin(ok)) if not ok.all() else len(ok)
    return n, (int(colour[0]), int(colour[1]), int(colour[2]))


def _paper_like(colour: np.ndarray) -> bool:
    """Margins and frames are near white or near black (greys, not colours): a uniform
    red field is the picture (a flag), not something to trim."""
    hi, lo = int(colour.max()), int(colour.min())
    return hi - lo <= PAPER_CHROMA and (lo >= PAPER_LIGHT or hi <= 255 - PAPER_LIGHT)


def encode(
    light: np.ndarray,
    chroma: np.ndarray,
    frame: np.ndarray,
    box: tuple[float, float, float, float],
    background: tuple[int, int, int] | None,
) -> bytes:
    bg = background or (0, 0, 0)
    fracs = (round(min(max(v, 0.0), 1.0) * _FRAC) for v in box)
    header = _HEADER.pack(_MAGIC, light.shape[0], chroma.shape[0], frame.shape[0],
                          1 if background else 0, *bg, *fracs)
    parts = (light.astype(np.uint8), chroma.astype(np.int8), frame.astype(np.uint8))
    return header + b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def decode(data: bytes) -> Feature:
    """Bytes from `extract` back to a `Feature`; ValueError if they are not ours."""
    if len(data) < HEADER_SIZE or data[:3] != _MAGIC:
        raise ValueError("not a dupes feature of this version: re-run the scan to recompute")
    _, side, cside, fside, has_bg, r, g, b, *fracs = _HEADER.unpack_from(data)
    sizes = (side * side, cside * cside * 2, fside * fside)
    if len(data) != HEADER_SIZE + sum(sizes):
        raise ValueError("dupes feature has the wrong size: re-run the scan to recompute")
    at = HEADER_SIZE
    light = np.frombuffer(data, np.uint8, sizes[0], at).reshape(side, side)
    chroma = np.frombuffer(data, np.int8, sizes[1], at + sizes[0]).reshape(cside, cside, 2)
    frame = np.frombuffer(data, np.uint8, sizes[2], at + sizes[0] + sizes[1])
    box = (fracs[0] / _FRAC, fracs[1] / _FRAC, fracs[2] / _FRAC, fracs[3] / _FRAC)
    return Feature(light, chroma, frame.reshape(fside, fside), box,
                   (r, g, b) if has_bg else None)
