"""Plain PNGs decoded by libspng (`pyspng`) rather than Pillow: the same pixels in about
two thirds of the time (Pillow inflates a row at a time; the scan decodes thousands of
PNGs, and PNG decoding was most of its CPU).

Only PNGs whose pixels libspng gives exactly as Pillow does take this path: one frame,
8-bit grey, RGB, grey + alpha or RGBA, or a palette, with no transparency chunk, and no
text or EXIF after the pixel data (Pillow finds those only by decoding the pixels, and
the scan keeps them). Anything else, and any file libspng refuses, goes to Pillow, which
also words the errors. Without pyspng installed, every PNG goes to Pillow.

Inflating is most of a PNG's decode, and the zlib inside libspng is slow at it: a
non-interlaced file's pixel data is inflated by zlib-ng instead (seven times faster)
and handed to libspng stored, uncompressed, so that libspng only copies and
unfilters it (`_stored`). Without the `zlib_ng` module, or for any file it cannot
inflate to exactly the expected size, libspng inflates as before.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from types import ModuleType

import numpy as np
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type → the output asked of libspng: a palette expanded to RGB, grey + alpha to
# RGBA (libspng has no 8-bit grey + alpha output), as Pillow's conversions do.
_OUTPUT = {0: "L", 2: "RGB", 3: "RGB", 4: "RGBA", 6: "RGBA"}
_PIL_MODES = {"L", "RGB", "P", "LA", "RGBA"}  # what Pillow calls those files
# Chunks Pillow reads only once the pixels are decoded, when they follow them.
_LATE_METADATA = {b"tEXt", b"zTXt", b"iTXt", b"eXIf"}
# Above this, Pillow decodes: libspng's array and the Pillow image made from it would
# hold the pixels twice for a moment (a 100 MP PNG: 300 MB more in a worker).
FAST_MAX_PIXELS = 25_000_000
_CHUNK = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")  # width, height, depth, colour type, methods, interlace
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # samples a pixel, by colour type
_STORED_BLOCK = 65535  # the most a stored deflate block holds
# Above this much pixel data (16 MP of RGB), libspng inflates: the rewrite holds the
# scanlines twice for a moment, and a worker should not hold a giant picture thrice.
STORED_MAX_BYTES = 48 * 2**20
_IEND = b"\0\0\0\0IEND\xaeB`\x82"


@functools.cache
def _pyspng() -> ModuleType | None:
    try:
        import pyspng
    except ImportError:
        return None
    return pyspng


@functools.cache
def _zlib_ng() -> ModuleType | None:
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return None
    return zlib_ng


def decode_png(
    data: bytes, im: Image.Image, max_pixels: int = FAST_MAX_PIXELS
) -> np.ndarray | None:
    """The first frame's pixels of the PNG `data` (already opened by Pillow as `im`,
    header read), decoded by libspng: H x W (grey), H x W x 3 (RGB, palettes) or
    H x W x 4 (RGBA, grey + alpha) uint8. None when it must be left to Pillow. An array,
    not a Pillow image: the scan shrinks it before it makes one (the copy into Pillow's
    layout was a sixth of a big PNG's decode)."""
    output = eligible_output(data, im) if im.size[0] * im.size[1] <= max_pixels else None
    pyspng = _pyspng() if output else None
    if pyspng is None:
        return None
    try:
        pixels: np.ndarray = pyspng.load(_stored(data) or data, output)
    except Exception:  # libspng's refusal: Pillow decides, and says why in words
        return None
    return pixels


def _stored(data: bytes) -> bytes | None:
    """The PNG `data` rewritten with its pixel data inflated (by zlib-ng) and stored
    uncompressed in one IDAT chunk; only the chunks the pixels depend on are kept
    (header, palette). None for interlaced files, above STORED_MAX_BYTES, without
    zlib-ng, or when the data does not inflate to exactly the size the header promises
    (libspng, then Pillow, judge those files and word what is wrong)."""
    zlib_ng = _zlib_ng()
    width, height, depth, colour, _, _, interlace = _IHDR.unpack_from(data, 16)
    if zlib_ng is None or interlace or colour not in _CHANNELS:
        return None
    expected = height * (1 + (width * _CHANNELS[colour] * depth + 7) // 8)
    if expected > STORED_MAX_BYTES:
        return None
    view = memoryview(data)
    head, compressed = [view[8:33]], []
    for kind, at, length in _chunks(data):
        if kind == b"PLTE":
            head.append(view[at:at + 12 + length])
        elif kind == b"IDAT":
            compressed.append(view[at + 8:at + 8 + length])
    inflater = zlib_ng.decompressobj()
    try:  # at most one byte over: enough to tell a file that holds more than it says
        raw = inflater.decompress(b"".join(compressed), expected + 1)
    except zlib_ng.error:
        return None
    if len(raw) != expected or not inflater.eof:
        return None
    return _png(zlib_ng, head, raw)


def _png(zlib_ng: ModuleType, head: list[memoryview], raw: bytes) -> bytes:
    """A PNG of the chunks `head` and the filtered scanlines `raw`, as a zlib stream of
    stored blocks (with the checksums a decoder verifies)."""
    rows = memoryview(raw)
    body = [b"IDAT", b"\x78\x01"]
    for start in range(0, len(raw), _STORED_BLOCK):
        block = rows[start:start + _STORED_BLOCK]
        last = start + _STORED_BLOCK >= len(raw)
        body += [struct.pack("<BHH", last, len(block), len(block) ^ 0xFFFF), block]
    body.append(struct.pack(">I", zlib_ng.adler32(raw)))
    crc = 0
    for part in body:
        crc = zlib_ng.crc32(part, crc)
    size = sum(len(part) for part in body) - 4
    return b"".join([SIGNATURE, *head, struct.pack(">I", size), *body,
                     struct.pack(">I", crc), _IEND])


def png_text_so_far(im: Image.Image) -> dict[str, str]:
    """The text chunks Pillow has read from an opened PNG without decoding its pixels
    (`im.text` would decode them to find any later ones)."""
    text = getattr(getattr(im, "png", None), "im_text", None)
    return text if isinstance(text, dict) else {}


def eligible_output(data: bytes, im: Image.Image) -> str | None:
    """libspng's output format for this file if it may take the fast path, else None."""
    if (im.format != "PNG" or im.mode not in _PIL_MODES or "transparency" in im.info
            or getattr(im, "n_frames", 1) != 1 or data[:8] != SIGNATURE or len(data) < 33
            or not isinstance(getattr(getattr(im, "png", None), "im_text", None), dict)):
        return None
    length, kind = _CHUNK.unpack_from(data, 8)
    if kind != b"IHDR" or length != 13:
        return None
    _, _, depth, colour, *_ = _IHDR.unpack_from(data, 16)
    if colour not in _OUTPUT or (depth != 8 and colour != 3):
        return None
    return _OUTPUT[colour] if not _late_metadata(data) else None


def _late_metadata(data: bytes) -> bool:
    """Whether a text or EXIF chunk follows the first pixel data chunk (a walk over the
    chunk headers only)."""
    seen_idat = False
    for kind, _, _ in _chunks(data):
        if kind == b"IDAT":
            seen_idat = True
        elif seen_idat and kind in _LATE_METADATA:
            return True
    return False


def _chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, data length) of each chunk up to IEND, from its headers alone."""
    at = 8
    while at + 8 <= len(data):
        length, kind = _CHUNK.unpack_from(data, at)
        if kind == b"IEND":
            return
        yield kind, at, length
        at += 12 + length
