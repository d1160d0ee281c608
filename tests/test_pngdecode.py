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
    if options.pop("interlace", 0):
        return adam7_png(im)
    out = io.BytesIO()
    im.save(out, "PNG", **options)
    return out.getvalue()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # each pass: first column, first row, column step, row step


def adam7_png(im: Image.Image) -> bytes:
    """An interlaced (Adam7) 8-bit RGB PNG of `im`: Pillow writes none."""
    pixels = np.asarray(im.convert("RGB"))
    raw = b""
    for x0, y0, dx, dy in ADAM7:
        part = pixels[y0::dy, x0::dx]
        if part.size:
            raw += b"".join(b"\0" + row.tobytes() for row in part)
    header = struct.pack(">IIBBBBB", im.width, im.height, 8, 2, 0, 0, 1)
    return (pngdecode.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


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


@pytest.mark.parametrize(("mode", "options"), [
    ("RGB", {}), ("RGBA", {}), ("L", {}), ("LA", {}), ("P", {}), ("P4", {"bits": 4}),
    ("RGB", {"compress_level": 0}), ("RGB", {"compress_level": 9}),
])
def test_pixel_data_is_inflated_here_and_handed_to_libspng_stored(
    mode: str, options: dict
) -> None:
    pytest.importorskip("zlib_ng")
    data = png_bytes(picture(mode, (300, 260)), **options)  # several IDATs, stored blocks
    stored = pngdecode._stored(data)
    assert stored is not None and stored != data
    assert b"IDAT" in stored and stored.count(b"IDAT") == 1
    # A valid PNG, checksums and all: Pillow verifies them, and reads the same pixels.
    with Image.open(io.BytesIO(stored)) as im:
        assert np.array_equal(np.asarray(im), np.asarray(Image.open(io.BytesIO(data))))
    with Image.open(io.BytesIO(data)) as im:
        fast = pngdecode.decode_png(data, im)
    expected = {"P": "RGB", "LA": "RGBA"}.get(Image.open(io.BytesIO(data)).mode)
    reference = Image.open(io.BytesIO(data))
    assert np.array_equal(fast, np.asarray(reference.convert(expected or reference.mode)))


def with_header_size(data: bytes, width: int, height: int) -> bytes:
    """`data` with its IHDR saying another size (and a checksum to match)."""
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + chunk(b"IHDR", ihdr) + data[33:]


@pytest.mark.parametrize("rows", [49, 51])
def test_pixel_data_of_another_size_than_the_header_says_is_not_stored(rows: int) -> None:
    """More pixel data than promised (a bomb, in the large) or less (a cut file): not
    inflated here, and libspng or Pillow judge the file."""
    pytest.importorskip("zlib_ng")
    data = with_header_size(png_bytes(picture("RGB", (70, 50))), 70, rows)
    assert pngdecode._stored(data) is None
    assert pngdecode._stored(with_header_size(data, 70, 50)) is not None


def test_interlaced_files_are_inflated_by_libspng() -> None:
    assert pngdecode._stored(png_bytes(picture("RGB"), interlace=1)) is None


def test_giant_pictures_are_inflated_by_libspng(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewrite holds the pixel data twice for a moment: not for the largest files."""
    pytest.importorskip("zlib_ng")
    data = png_bytes(picture("RGB", (70, 50)))
    raw = 50 * (1 + 70 * 3)
    monkeypatch.setattr(pngdecode, "STORED_MAX_BYTES", raw)
    assert pngdecode._stored(data) is not None
    monkeypatch.setattr(pngdecode, "STORED_MAX_BYTES", raw - 1)
    assert pngdecode._stored(data) is None
    with Image.open(io.BytesIO(data)) as im:
        assert pngdecode.decode_png(data, im) is not None


def test_without_zlib_ng_libspng_inflates(monkeypatch: pytest.MonkeyPatch) -> None:
    data = png_bytes(picture("RGB"))
    with Image.open(io.BytesIO(data)) as im:
        fast = pngdecode.decode_png(data, im)
        monkeypatch.setattr(pngdecode, "_zlib_ng", lambda: None)
        assert pngdecode._stored(data) is None
        assert np.array_equal(pngdecode.decode_png(data, im), fast)


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
