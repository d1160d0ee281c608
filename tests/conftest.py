"""Shared fixtures: real pictures drawn with Pillow, a real library in tmp_path.

`make_picture(path, ...)` draws a small deterministic picture (shapes from a seed) and
saves it in the format its suffix names; `library` is a `Library` in `tmp_path/library`
that decodes in-process (one worker) so that small tests stay fast.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from PIL import Image, ImageDraw

from illudex.imageio import register_format_plugins

if TYPE_CHECKING:
    from illudex.library import Library

# Tests write AVIF/HEIF files before anything decodes (which would register the plugins).
register_format_plugins()

MakePicture = Callable[..., Path]
T = TypeVar("T")
NOBODY = 65534


def draw_picture(size: tuple[int, int] = (96, 64), seed: int = 0) -> Image.Image:
    """Flat-coloured shapes with outlines on a tinted background; different per seed."""
    rnd = random.Random(seed)
    w, h = size
    im = Image.new("RGB", size, tuple(rnd.randint(150, 255) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x0, y0 = rnd.randint(0, w * 2 // 3), rnd.randint(0, h * 2 // 3)
        x1, y1 = rnd.randint(x0 + w // 8, w), rnd.randint(y0 + h // 8, h)
        colour = tuple(rnd.randint(0, 255) for _ in range(3))
        shape = rnd.choice(("ellipse", "rectangle"))
        getattr(draw, shape)((x0, y0, x1, y1), fill=colour, outline=(20, 20, 20),
                             width=max(1, w // 64))
    return im


def save_picture(
    path: str | Path,
    size: tuple[int, int] = (96, 64),
    seed: int = 0,
    image: Image.Image | None = None,
    **save_options: Any,
) -> Path:
    """Draw (or take `image`) and save at `path` in the format of its suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im = image if image is not None else draw_picture(size, seed)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        save_options.setdefault("quality", 92)
    im.save(path, **save_options)
    return path


@pytest.fixture
def make_picture() -> MakePicture:
    """`make_picture(path, size=(96, 64), seed=0, image=None, **save_options) -> Path`."""
    return save_picture


def write_png_bomb(path: str | Path, side: int) -> Path:
    """A valid 1-bit PNG of side x side black pixels: a few hundred KB on disk at most,
    side² bytes once decoded (30000 → 900 MB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    left = side * (1 + (side + 7) // 8)  # each row: filter byte + packed bits, all zero
    z = zlib.compressobj(1)
    block = bytes(1 << 22)
    parts = []
    while left:
        n = min(left, len(block))
        parts.append(z.compress(block[:n]))
        left -= n
    parts.append(z.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path = Path(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="session")
def png_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30000x30000 PNG (900 megapixels) of well under a megabyte, made once per session."""
    return write_png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png", 30000)


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    """A fresh library in `tmp_path/library`, decoding in-process."""
    from illudex.library import Library

    lib = Library.open(tmp_path / "library")
    lib.workers = 1
    yield lib
    lib.close()


def run_unprivileged(func: Callable[..., T], *args: Any) -> T:
    """`func(*args)`, run where file permissions apply. As root (where chmod 000 does not
    stop a read) it runs in a forked child that has dropped to uid/gid 65534; the result
    comes back pickled. Paths it touches must be reachable by that user (`open_tmp`)."""
    if os.geteuid() != 0:
        return func(*args)
    # The child may not read the interpreter's own files (under /root here): load what
    # would otherwise be imported lazily in it.
    import encodings.utf_8_sig  # noqa: F401

    Image.init()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                outcome: tuple[bool, Any] = (True, func(*args))
            except BaseException as e:
                outcome = (False, f"{type(e).__name__}: {e}")
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(outcome, out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    ok, value = pickle.loads(data)
    if not ok:
        raise AssertionError(f"unprivileged call failed: {value}")
    return value


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder every user may enter and write to (for `run_unprivileged`)."""
    path = Path(tempfile.mkdtemp(prefix="illudex-test-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def unprivileged() -> Callable[..., Any]:
    """`unprivileged(func, *args)`: see `run_unprivileged`."""
    return run_unprivileged
