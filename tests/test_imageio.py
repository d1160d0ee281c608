"""Safe decoding: every format, reduced size, upright, alpha on white, and clear refusals."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from illudex.dupes import features as dupe_features
from illudex.imageio import (
    Decoded,
    DecodeError,
    decode,
    decode_file,
    file_digest,
    frame_crop,
    frame_size,
    halved,
    is_image_name,
)

# Pillow's inverse of each EXIF orientation: what to store so that it displays upright.
STORED_FOR = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
}


def pixels(im: Image.Image) -> np.ndarray:
    return np.asarray(im.convert("RGB"), dtype=np.int16)


def mean_diff(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return float(np.abs(pixels(a) - pixels(b)).mean())


def two_colour(size: tuple[int, int] = (60, 40)) -> Image.Image:
    """Left half red, right half blue: easy to check after any conversion."""
    im = Image.new("RGB", size, (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return im


FORMATS = [
    (".jpg", "JPEG", 6.0), (".png", "PNG", 0.0), (".webp", "WEBP", 6.0),
    (".gif", "GIF", 8.0), (".bmp", "BMP", 0.0), (".tif", "TIFF", 0.0),
    pytest.param(".avif", "AVIF", 10.0, marks=pytest.mark.skipif(
        importlib.util.find_spec("pillow_avif") is None
        and not Image.registered_extensions().get(".avif"), reason="no AVIF plugin")),
    pytest.param(".heic", "HEIF", 10.0, marks=pytest.mark.skipif(
        importlib.util.find_spec("pillow_heif") is None, reason="pillow-heif not installed")),
]


@pytest.mark.parametrize(("suffix", "fmt", "tolerance"), FORMATS)
def test_each_format_decodes_to_the_same_picture(
    tmp_path: Path, make_picture, suffix: str, fmt: str, tolerance: float
) -> None:
    original = Image.open(make_picture(tmp_path / "ref.png", size=(120, 80), seed=3))
    original.load()
    path = make_picture(tmp_path / f"pic{suffix}", image=original)
    decoded = decode(path)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (120, 80)
    assert decoded.image.mode == "RGB"
    assert mean_diff(decoded.image, original) <= tolerance
    assert not decoded.animated and decoded.n_frames == 1


def test_big_jpeg_is_decoded_reduced_but_reports_its_real_size(tmp_path: Path, make_picture):
    path = make_picture(tmp_path / "big.jpg", size=(2400, 1200), seed=1)
    decoded = decode(path, side=512)
    assert (decoded.width, decoded.height) == (2400, 1200)
    assert max(decoded.image.size) == 512
    assert decoded.image.size == (512, 256)
    reference = Image.open(path).convert("RGB").resize((512, 256), Image.Resampling.BOX)
    assert mean_diff(decoded.image, reference) < 6


@pytest.mark.parametrize("size", [(1500, 700), (700, 1500), (1100, 513), (1024, 1024)])
def test_big_png_is_reduced_to_the_decode_side_keeping_its_shape(
    tmp_path: Path, make_picture, size: tuple[int, int]
) -> None:
    # PNG has no draft mode: an integer box reduce, then bilinear over what is left.
    path = make_picture(tmp_path / "big.png", size=size, seed=2)
    decoded = decode(path, side=512)
    w, h = size
    expected = (512, round(h * 512 / w)) if w >= h else (round(w * 512 / h), 512)
    assert decoded.image.size == expected
    reference = Image.open(path).convert("RGB").resize(expected, Image.Resampling.BOX)
    assert mean_diff(decoded.image, reference) < 6


@pytest.mark.parametrize(("size", "reduced"), [((1500, 700), (750, 350)),
                                             ((2100, 900), (525, 225)),
                                             ((700, 300), (700, 300))])
def test_a_coarse_decode_only_box_reduces_by_an_integer_factor(
    tmp_path: Path, make_picture, size: tuple[int, int], reduced: tuple[int, int]
) -> None:
    path = make_picture(tmp_path / "big.png", size=size, seed=4)
    with open(path, "rb") as fp:
        decoded = decode_file(fp, str(path), side=512, coarse=True)
    assert decoded.image.size == reduced  # longest side in [512, 1024): nothing resampled
    reference = Image.open(path).convert("RGB").reduce(size[0] // reduced[0])
    assert mean_diff(decoded.image, reference) < 0.5


@pytest.mark.parametrize("shape", [(1050, 1050), (1051, 777), (1050, 1049), (13, 11), (1, 3)])
def test_halved_is_exactly_pillows_reduce_by_two(shape: tuple[int, int]) -> None:
    """The scan halves plain PNGs as arrays: the very pixels of Pillow's `reduce(2)`,
    the part blocks at odd far edges included (the duplicate features must not move)."""
    rgb = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert np.array_equal(halved(rgb), np.asarray(Image.fromarray(rgb).reduce(2)))


@pytest.mark.parametrize(("suffix", "full_size"), [(".png", (1500, 700)),
                                                   (".webp", (1500, 700)),
                                                   (".jpg", (750, 350))])  # as drafted
def test_a_coarse_decode_keeps_the_unshrunk_pixels_when_asked(
    tmp_path: Path, make_picture, suffix: str, full_size: tuple[int, int]
) -> None:
    path = make_picture(tmp_path / f"big{suffix}", size=(1500, 700), seed=5)
    with open(path, "rb") as fp:
        decoded = decode_file(fp, str(path), side=512, coarse=True, keep_full=True)
    assert decoded.full is not None and frame_size(decoded.full) == full_size
    full = np.asarray(decoded.full)
    if suffix != ".jpg":
        assert np.array_equal(full, np.asarray(Image.open(path).convert("RGB")))
    # A box of it, whichever form the decode left it in (libspng's array, Pillow's image).
    box = (100, 50, 196, 146)
    assert np.array_equal(np.asarray(frame_crop(decoded.full, box)), full[50:146, 100:196])
    assert decoded.image.size == (750, 350)


def test_png_text_chunks_are_kept_as_generation_parameters(tmp_path: Path, make_picture):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "1girl, smile\nSteps: 20, Sampler: Euler a, Seed: 42")
    info.add_itxt("Comment", "ünïcode ✓")
    path = make_picture(tmp_path / "gen.png", pnginfo=info)
    params = decode(path).params
    assert params["parameters"].startswith("1girl, smile\nSteps: 20")
    assert params["Comment"] == "ünïcode ✓"
    assert decode(make_picture(tmp_path / "plain.png")).params == {}


def test_rgba_is_composited_on_white(tmp_path: Path, make_picture):
    im = Image.new("RGBA", (20, 10), (255, 0, 0, 255))
    im.paste((0, 0, 0, 0), (10, 0, 20, 10))
    decoded = decode(make_picture(tmp_path / "a.png", image=im))
    assert decoded.has_alpha and decoded.mode == "RGBA"
    assert decoded.image.getpixel((2, 2)) == (255, 0, 0)
    assert decoded.image.getpixel((15, 5)) == (255, 255, 255)


def test_palette_with_transparency_is_a_fine_picture(tmp_path: Path, make_picture):
    im = two_colour().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    transparent = im.getpixel((50, 20))  # the blue half's palette index
    decoded = decode(make_picture(tmp_path / "p.png", image=im, transparency=transparent))
    assert decoded.mode == "P" and decoded.has_alpha
    assert decoded.image.getpixel((5, 5)) == (255, 0, 0)
    assert decoded.image.getpixel((50, 20)) == (255, 255, 255)


def test_cmyk_jpeg_decodes_to_the_right_colours(tmp_path: Path, make_picture):
    path = make_picture(tmp_path / "cmyk.jpg", image=two_colour().convert("CMYK"), quality=95)
    decoded = decode(path)
    assert decoded.mode == "CMYK"
    assert mean_diff(decoded.image, two_colour()) < 6


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path: Path):
    ramp = (np.arange(256, dtype=np.uint16) * 257)[None, :].repeat(8, axis=0)  # 0..65535
    path = tmp_path / "grey16.png"
    Image.fromarray(ramp).save(path)
    decoded = decode(path)
    assert decoded.mode.startswith("I")
    row = np.asarray(decoded.image)[4, :, 0].astype(int)
    assert np.abs(row - np.arange(256)).max() <= 1


def test_16_bit_colour_png_decodes(tmp_path: Path):
    bgr = np.zeros((40, 60, 3), np.uint16)
    bgr[:, :30] = (0, 0, 65535)  # red (OpenCV writes BGR)
    bgr[:, 30:] = (65535, 0, 0)  # blue
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), bgr)
    assert mean_diff(decode(path).image, two_colour()) < 1


@pytest.mark.parametrize("orientation", sorted(STORED_FOR))
def test_exif_rotated_jpeg_comes_upright(tmp_path: Path, make_picture, orientation: int):
    upright = Image.open(make_picture(tmp_path / "up.png", size=(1200, 800), seed=5))
    upright.load()
    exif = Image.Exif()
    exif[0x0112] = orientation
    reference = decode(make_picture(tmp_path / "up.jpg", image=upright, quality=95))
    rotated = decode(make_picture(tmp_path / "r.jpg", image=upright.transpose(
        STORED_FOR[orientation]), quality=95, exif=exif.tobytes()))
    assert (rotated.width, rotated.height) == (1200, 800)
    assert rotated.image.size == reference.image.size
    assert mean_diff(rotated.image, reference.image) < 1.5
    # ... and so the duplicate engine's feature sees the same picture.
    same = np.frombuffer(dupe_features.extract(rotated.image), np.uint8).astype(int)
    base = np.frombuffer(dupe_features.extract(reference.image), np.uint8).astype(int)
    assert np.abs(same - base).mean() < 2


def test_animated_gif_and_webp_give_the_first_frame(tmp_path: Path, make_picture):
    first, second = two_colour(), two_colour().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for suffix in (".gif", ".webp"):
        path = make_picture(tmp_path / f"anim{suffix}", image=first, save_all=True,
                            append_images=[second, first], duration=100, loop=0, lossless=True)
        decoded = decode(path)
        assert decoded.animated and decoded.n_frames == 3, suffix
        assert mean_diff(decoded.image, first) < 2, suffix


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty file"),
    (b"this is not a picture\n", "not a picture"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "not a picture"),
])
def test_files_that_are_no_pictures_are_refused_with_a_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        decode(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_files_fail_instead_of_being_padded(tmp_path: Path, make_picture, suffix):
    whole = make_picture(tmp_path / f"whole{suffix}", size=(300, 200)).read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(DecodeError, match="truncated"):
        decode(path)


def test_missing_file_is_a_decode_error(tmp_path: Path):
    with pytest.raises(DecodeError, match="cannot read file"):
        decode(tmp_path / "nowhere.png")


def test_pixel_limit_is_configurable_and_checked_from_the_header(tmp_path: Path, make_picture):
    path = make_picture(tmp_path / "p.png", size=(300, 200))
    assert isinstance(decode(path, max_pixels=60_000), Decoded)
    with pytest.raises(DecodeError, match="300x200 = 60,000 pixels is over the limit of 59,999"):
        decode(path, max_pixels=59_999)


def test_decompression_bomb_is_refused_fast(png_bomb: Path):
    assert png_bomb.stat().st_size < 1_000_000
    start = time.perf_counter()
    with pytest.raises(DecodeError, match="too many pixels"):
        decode(png_bomb)
    assert time.perf_counter() - start < 1.0


def test_decompression_bomb_is_refused_without_allocating_it(png_bomb: Path):
    """Peak memory of a process that meets the bomb stays near that of one that doesn't."""
    script = (
        "import json, resource, sys\n"
        "from illudex.imageio import decode, DecodeError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    decode(sys.argv[1]); outcome = 'decoded'\n"
        "except DecodeError as e:\n"
        "    outcome = str(e)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'outcome': outcome, 'grew_kb': after - before}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(png_bomb)], capture_output=True,
                          text=True, timeout=60, check=True)
    result = json.loads(done.stdout)
    assert "too many pixels" in result["outcome"]
    assert result["grew_kb"] < 20_000  # decoding would take 900 MB


def test_is_image_name() -> None:
    assert all(is_image_name(n) for n in ("a.png", "b.JPG", "c.jpeg", "d.webp", "e.gif",
                                         "f.bmp", "g.tiff", "h.tif", "i.avif", "j.HEIC"))
    assert not any(is_image_name(n) for n in ("a.txt", "png", "b.png.part", "c.psd", ".png"))


def test_file_digest_is_blake2b_of_the_bytes(tmp_path: Path):
    path = tmp_path / "x.bin"
    data = bytes(range(256)) * 9000  # more than one read chunk
    path.write_bytes(data)
    assert file_digest(path, chunk=4096) == hashlib.blake2b(data, digest_size=16).hexdigest()


def test_our_limit_decides_not_pillows_warning(
    tmp_path: Path, make_picture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow warns at MAX_IMAGE_PIXELS and refuses at twice that; a picture between the
    two is under our default limit (Pillow's hard one) and must decode."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    between = make_picture(tmp_path / "between.png", size=(150, 100))  # 15,000 px
    assert decode(between, max_pixels=20_000).width == 150
    with pytest.raises(DecodeError, match="over the limit of 12,000"):
        decode(between, max_pixels=12_000)
    over = make_picture(tmp_path / "over.png", size=(250, 100))  # past Pillow's hard limit
    with pytest.raises(DecodeError, match="too many pixels"):
        decode(over, max_pixels=1_000_000)
