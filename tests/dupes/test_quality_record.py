"""The keeper's per-picture quality record (`illudex.dupes.quality`)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from illudex import imageio
from illudex.dupes import quality
from illudex.imageio import decode_file
from tests.dupes.pictures import drawing


class _Stream(io.RawIOBase):
    """A file that says it cannot seek: the decode leaves every PNG to Pillow."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.read = self._inner.read  # type: ignore[method-assign]
        self.seek = self._inner.seek  # type: ignore[method-assign]
        self.tell = self._inner.tell  # type: ignore[method-assign]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def test_a_png_gives_the_same_record_through_libspng_and_through_pillow() -> None:
    buf = io.BytesIO()
    drawing(7, (1300, 900)).save(buf, "PNG")
    data = buf.getvalue()
    fast = decode_file(io.BytesIO(data), "a.png", side=512, coarse=True, keep_full=True)
    slow = decode_file(_Stream(data), "a.png", side=512, coarse=True, keep_full=True)
    assert imageio._file_bytes(_Stream(data)) is None  # so `slow` is Pillow's decode
    assert fast.full is not None and slow.full is not None
    assert isinstance(fast.full, np.ndarray) and isinstance(slow.full, Image.Image)
    assert np.array_equal(fast.full, np.asarray(slow.full))
    # The same bytes: halved exactly as Pillow does, the same full-size tiles.
    assert quality.extract(fast) == quality.extract(slow)
