"""The byte format of the duplicate finder's per-picture features, and what can be read
from it without numpy (the trimmed content's box, for choosing keepers).

`illudex.dupes.features` makes and decodes the whole record.
"""

from __future__ import annotations

import struct

NAME = "dupes"  # analyser name in the catalog's features table
VERSION = 5  # bump when the byte format or its meaning changes (2: decode resample,
# 3: the background is the paper the content shows, 5: a dark frame comes off at full
# resolution, and later trim rounds peel whole frames only)
_MAGIC = b"ID2"
# magic, light side, chroma side, frame side, has_bg, bg r g b, box x0 y0 x1 y1 (of 65535)
_HEADER = struct.Struct("<3sBBBBBBBHHHH")
HEADER_SIZE = _HEADER.size
_FRAC = 65535


def content_box(data: bytes) -> tuple[float, float, float, float]:
    """Where the content (inside trimmed borders) sits in the frame: x0, y0, x1, y1 in 0..1."""
    if len(data) < HEADER_SIZE or data[:3] != _MAGIC:
        raise ValueError("not a dupes feature of this version: re-run the scan to recompute")
    *_, x0, y0, x1, y1 = _HEADER.unpack_from(data)
    return x0 / _FRAC, y0 / _FRAC, x1 / _FRAC, y1 / _FRAC
