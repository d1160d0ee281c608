"""PNGs through libspng: exactly Pillow's pixels and metadata, or left to Pillow."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from illudex import pngdecode
from illudex.imageio import DecodeError, decode_file

pytest.importorskip("pyspng")


def picture(mode: str, size: tuple[int, int] = (70, 50)) -> Image.Image:
    """Noise with flat runs (every PNG filter gets used), in `mode`."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    rgb[::3] = (250, 250, 250)
    im = Image.fromarray(rgb)
    if mode == "P4":
        return im.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "P":
        return im.convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    if mode in ("RGBA", "LA"):
        alpha = Image.fromarray(rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8))
        im = im.convert(mode[:-1])
        im.putalpha(alpha)
        return im
    return im.convert(mode)


def png_bytes(im: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG", **options)
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def before_iend(data: bytes, extra: bytes) -> bytes:
    """`extra` chunks inserted after the pixel data, before IEND (where Pillow writes none)."""
    at = data.rindex(b"IEND") - 4
    return data[:at] + extra + data[at:]


@pytest.mark.parametrize(("mode", "options"), [
    ("RGB", {}), ("RGBA", {}), ("L", {}), ("LA", {}), ("P", {}), ("P4", {"bits": 4}),
    ("RGB", {"interlace": 1}),  # Adam7
])
def test_plain_pngs_take_libspng_and_give_pillows_pixels(mode: str, options: dict) -> None:
    data = png_bytes(picture(mode), **options)
    with Image.open(io.BytesIO(data)) as im:
        fast = pngdecode.decode_png(data, im)
    assert fast is not None, "this PNG should take the libspng path"
    reference = Image.open(io.BytesIO(data))
    # Palettes come expanded to RGB, grey + alpha to RGBA: what the decode's flattening
    # does with Pillow's.
    expected = {"P": "RGB", "LA": "RGBA"}.get(reference.mode, reference.mode)
    reference = np.asarray(reference.convert(expected))
    assert fast.dtype == np.uint8 and np.array_equal(fast, reference)


def test_gamma_and_significant_bits_do_not_change_the_pixels() -> None:
    """Pillow ignores gAMA and sBIT; libspng must too (it applies them only when asked)."""
    data = png_bytes(picture("RGB"))
    at = data.index(b"IDAT") - 4
    data = (data[:at] + chunk(b"gAMA", struct.pack(">I", 100000))
            + chunk(b"sBIT", bytes([5, 6, 5])) + data[at:])
    with Image.open(io.BytesIO(data)) as im:
        fast = pngdecode.decode_png(data, im)
    assert fast is not None
    assert np.array_equal(fast, np.asarray(Image.open(io.BytesIO(data))))


@pytest.mark.parametrize("case", ["16-bit", "transparency", "text after pixels",
                                  "exif after pixels", "not a png"])
def test_files_libspng_might_read_differently_are_left_to_pillow(case: str) -> None:
    data = png_bytes(picture("RGB"))
    if case == "16-bit":
        data = png_bytes(Image.fromarray(np.full((20, 30), 40000, np.uint16)))
    elif case == "transparency":
        data = png_bytes(picture("P"), transparency=3)
    elif case == "text after pixels":
        data = before_iend(data, chunk(b"tEXt", b"parameters\0late"))
    elif case == "exif after pixels":
        data = before_iend(data, chunk(b"eXIf", Image.Exif().tobytes()))
    elif case == "not a png":
        data = png_bytes(picture("RGB"))[:8] + b"garbage"
    with Image.open(io.BytesIO(png_bytes(picture("RGB")) if case == "not a png" else data)) as im:
        assert pngdecode.decode_png(data, im) is None


def test_big_pngs_are_left_to_pillow() -> None:
    """Above the limit, libspng's array and Pillow's copy of it would be two big
    allocations at once."""
    data = png_bytes(picture("RGB", (70, 50)))
    with Image.open(io.BytesIO(data)) as im:
        assert pngdecode.decode_png(data, im, max_pixels=70 * 50) is not None
        assert pngdecode.decode_png(data, im, max_pixels=70 * 50 - 1) is None


def test_text_and_exif_after_the_pixels_still_reach_the_decode() -> None:
    """Pillow finds late metadata only by decoding the pixels: those files go to it."""
    upright = picture("RGB", (80, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown rotated 90° clockwise
    data = before_iend(png_bytes(upright), chunk(b"tEXt", b"parameters\0steps 20")
                       + chunk(b"eXIf", exif.tobytes()))
    decoded = decode_file(io.BytesIO(data), "late.png", side=512)
    assert decoded.params == {"parameters": "steps 20"}
    assert (decoded.width, decoded.height) == (40, 80)


def test_metadata_before_the_pixels_is_kept_on_the_fast_path(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "1girl")
    info.add_itxt("Comment", "ünïcode ✓", zip=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = png_bytes(picture("RGB", (80, 40)), pnginfo=info, exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as im:
        assert pngdecode.eligible_output(data, im) == "RGB"
    decoded = decode_file(io.BytesIO(data), "early.png", side=512)
    assert decoded.params == {"parameters": "1girl", "Comment": "ünïcode ✓"}
    assert (decoded.width, decoded.height) == (40, 80)  # upright
    path = tmp_path / "early.png"
    path.write_bytes(data)
    with open(path, "rb") as fp:  # a real file, not bytes in memory
        assert decode_file(fp, str(path), side=512).params == decoded.params


def test_a_truncated_png_is_refused_in_pillows_words() -> None:
    data = png_bytes(picture("RGB", (200, 200)))
    cut = data[: len(data) // 2]
    with pytest.raises(DecodeError, match=r"truncated|damaged"):
        decode_file(io.BytesIO(cut), "cut.png", side=512)
