"""Safe decoding: one decode per file feeds every analyser.

Pictures come upright (EXIF orientation applied), as RGB with any alpha composited
onto white, first frame only, and reduced in size where that is cheap (JPEG draft
mode decodes at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients).
Everything that can go wrong with a user's file becomes a `DecodeError` with a
reason a person can read.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from illudex.errors import InvalidInput
from illudex.picturefiles import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, is_image_name
from illudex.pngdecode import decode_png, png_text_so_far

__all__ = ["DEFAULT_MAX_PIXELS", "IMAGE_SUFFIXES", "DecodeError", "Decoded", "decode",
           "decode_file", "file_digest", "is_image_name"]


@functools.cache
def register_format_plugins() -> None:
    """AVIF / HEIF openers, when their optional packages are installed. Done on the first
    decode rather than at import: commands that decode nothing start faster."""
    with contextlib.suppress(ImportError):
        import pillow_avif  # noqa: F401
    with contextlib.suppress(ImportError):
        from pillow_heif import register_heif_opener

        register_heif_opener()


DEFAULT_DECODE_SIDE = 512  # shared decode size: enough for a 448 px tagger and for hashes

# Truncated files must fail, not be silently padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class DecodeError(InvalidInput):
    """A file that cannot be read as a picture, with the reason in words."""


# A decoded frame as the decode left it, uncopied: libspng's RGB array (H x W x 3 uint8)
# or Pillow's RGB image. Read with `frame_size` and `frame_crop`.
Frame = np.ndarray | Image.Image


@dataclass
class Decoded:
    """One picture, decoded once, with the facts every analyser may need."""

    path: str
    image: Image.Image  # RGB, upright, alpha on white; longest side <= decode side
    # (coarse decodes: under twice the decode side)
    width: int  # original size, upright
    height: int
    format: str
    mode: str  # the file's own mode (e.g. "P", "RGBA", "CMYK", "I;16")
    has_alpha: bool
    animated: bool
    n_frames: int
    params: dict[str, str] = field(default_factory=dict)  # PNG text chunks (generation params)
    # The frame before it was shrunk (JPEG: as drafted), when asked for: detail measures
    # need the file's own pixels, which a reduced decode has averaged away.
    full: Frame | None = None


def file_digest(path: str | Path, chunk: int = 1 << 20) -> str:
    """Content hash of a file (BLAKE2b-128, hex): identifies moved and exact-duplicate files."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def decode(
    path: str | Path,
    *,
    side: int = DEFAULT_DECODE_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Decoded:
    """Decode the file at `path` at reduced size; raise `DecodeError` with a clear reason."""
    path = str(path)
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise DecodeError(f"cannot read file: {e.strerror or e}") from None
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    try:
        with open(path, "rb") as fp:
            return decode_file(fp, path, side=side, max_pixels=max_pixels)
    except PermissionError:
        raise DecodeError("permission denied") from None
    except FileNotFoundError:
        raise DecodeError("file vanished before it could be read") from None


def decode_file(
    fp: BinaryIO,
    path: str,
    *,
    side: int = DEFAULT_DECODE_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    coarse: bool = False,
    keep_full: bool = False,
) -> Decoded:
    """Decode an open file (`path` names it in messages and in the result). `coarse`:
    shrink only by an integer box reduce (longest side in [side, 2 x side)), for
    analysers that resize again anyway: the scan's duplicate features. `keep_full`:
    keep the unshrunk frame too (`Decoded.full`)."""
    register_format_plugins()
    try:
        with warnings.catch_warnings():
            # Our own `max_pixels` check decides; Pillow's warning (at half its hard limit)
            # would otherwise refuse pictures well under the configured limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp) as im:
                return _decode_open(path, im, side, max_pixels, coarse, keep_full, fp)
    except DecodeError:
        raise
    except Image.DecompressionBombError as e:
        raise DecodeError(f"refused: too many pixels (decompression bomb?): {e}") from None
    except UnidentifiedImageError:
        if _is_empty(fp):
            raise DecodeError("empty file (0 bytes)") from None
        raise DecodeError("not a picture Pillow can read (unknown or corrupt format)") from None
    except OSError as e:
        msg = str(e)
        if "truncated" in msg.lower() or "broken data stream" in msg.lower():
            raise DecodeError(f"truncated or damaged file: {msg}") from None
        raise DecodeError(f"cannot decode: {msg}") from None
    except (ValueError, SyntaxError, EOFError, MemoryError, struct.error, IndexError) as e:
        raise DecodeError(f"cannot decode: {type(e).__name__}: {e}") from None


def _is_empty(fp: BinaryIO) -> bool:
    try:
        fp.seek(0, os.SEEK_END)
        return fp.tell() == 0
    except (OSError, ValueError):
        return False


def _decode_open(
    path: str, im: Image.Image, side: int, max_pixels: int, coarse: bool,
    keep_full: bool = False, fp: BinaryIO | None = None,
) -> Decoded:
    w, h = im.size
    if w * h > max_pixels:
        # Checked from the header alone: nothing has been allocated yet.
        raise DecodeError(
            f"refused: {w}x{h} = {w * h:,} pixels is over the limit of {max_pixels:,} "
            "(decompression bomb?)"
        )
    fmt = im.format or "?"
    mode = im.mode
    n_frames = getattr(im, "n_frames", 1) or 1
    animated = bool(getattr(im, "is_animated", False))
    has_alpha = _has_alpha(im)
    # Plain PNGs: libspng's pixels, decoded before Pillow's text and EXIF lookups would
    # make Pillow decode them (it has all that metadata once the fast path takes a file).
    data = _file_bytes(fp) if fmt == "PNG" and fp is not None else None
    pixels = decode_png(data, im) if data is not None else None
    params = _text_params(im, decoded=pixels is None)
    orientation = _exif_orientation(im, decoded=pixels is None)
    facts = {"path": path, "format": fmt, "mode": mode, "has_alpha": has_alpha,
             "animated": animated, "n_frames": n_frames, "params": params}
    if pixels is not None and coarse and orientation in (0, 1) and pixels.ndim == 3 \
            and pixels.shape[2] == 3:
        # Plain RGB: shrunk as an array, and only the small picture copied into Pillow.
        return Decoded(image=_coarse_image(pixels, side), width=w, height=h,
                       full=pixels if keep_full else None, **facts)
    if pixels is None:
        if fmt == "JPEG":
            # draft() picks the smallest DCT scale that still covers `side` on both axes.
            scale = max(w, h) / side
            if scale >= 2:
                im.draft("RGB", (max(1, int(w / scale)), max(1, int(h / scale))))
        im.seek(0)
        im.load()
    frame = _flatten(im if pixels is None else Image.fromarray(pixels))
    if orientation and orientation != 1:
        frame = ImageOps.exif_transpose(_with_orientation(frame, orientation))
        if orientation in (5, 6, 7, 8):
            w, h = h, w
    full = frame if keep_full else None
    frame = _shrink(frame.copy() if keep_full and not coarse else frame, side, coarse)
    return Decoded(image=frame, width=w, height=h, full=full, **facts)


def frame_size(frame: Frame) -> tuple[int, int]:
    """(width, height) of a `Decoded.full`."""
    return (frame.shape[1], frame.shape[0]) if isinstance(frame, np.ndarray) else frame.size


def frame_crop(frame: Frame, box: tuple[int, int, int, int]) -> Image.Image:
    """`box` (left, top, right, bottom; inside the frame) of a `Decoded.full`, as a
    small Pillow image, whichever form the frame is in."""
    if isinstance(frame, np.ndarray):
        left, top, right, bottom = box
        return Image.fromarray(frame[top:bottom, left:right])
    return frame.crop(box)


def _coarse_image(pixels: np.ndarray, side: int) -> Image.Image:
    """`_shrink(Image.fromarray(pixels), side, coarse=True)`, the same pixels; halved
    without the full-size copy into Pillow's layout. At three times `side` and more,
    Pillow reduces as before: OpenCV's area average rounds otherwise there."""
    factor = max(pixels.shape[:2]) // side
    if factor == 2:
        return Image.fromarray(halved(pixels))
    image = Image.fromarray(pixels)
    return image.reduce(factor) if factor > 2 else image


def halved(pixels: np.ndarray) -> np.ndarray:
    """H x W x C uint8 → ceil(H / 2) x ceil(W / 2) x C, each pixel the rounded mean of
    its 2 x 2 block (a part block at an odd far edge): exactly Pillow's `reduce(2)`."""
    import cv2  # lazily: only scan workers shrink arrays

    h, w = pixels.shape[:2]
    rows, cols = h // 2, w // 2
    out = np.empty(((h + 1) // 2, (w + 1) // 2, pixels.shape[2]), np.uint8)
    if rows and cols:
        out[:rows, :cols] = cv2.resize(pixels[:rows * 2, :cols * 2], (cols, rows),
                                       interpolation=cv2.INTER_AREA).reshape(rows, cols, -1)
    if w % 2:
        out[:, cols] = _pair_means(pixels[:, -1])
    if h % 2:
        out[rows, :cols] = _pair_means(pixels[-1, :cols * 2])
    return out


def _pair_means(line: np.ndarray) -> np.ndarray:
    """Rounded means (half up) of consecutive pairs along a line of pixels (N x C), a
    last odd one as it is."""
    even = line[:len(line) // 2 * 2].astype(np.uint16)
    means = ((even[0::2] + even[1::2] + 1) >> 1).astype(np.uint8)
    return np.concatenate([means, line[len(even):]]) if len(line) % 2 else means


def _shrink(frame: Image.Image, side: int, coarse: bool) -> Image.Image:
    if max(frame.size) <= side:
        return frame
    if coarse:
        # An exact area average (box filter), by the integer factor that keeps the longest
        # side at or above `side`: a fifth of the time of a true resample, which an
        # analyser that shrinks again to its own size does not need.
        factor = max(frame.size) // side
        return frame.reduce(factor) if factor > 1 else frame
    # Box-reduce by an integer factor, then an antialiased bilinear: what people and
    # models see (thumbnails, tagger input) is resampled properly.
    frame.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return frame


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode == "P" and "transparency" in im.info
    ) or (im.mode in ("RGB", "L") and "transparency" in im.info)


def _flatten(im: Image.Image) -> Image.Image:
    """Any mode → RGB, alpha composited onto white (the taggers' reference)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grey: scale to 8 bits rather than clip.
        im = im.point(lambda v: v / 256).convert("L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("LA", "La", "PA"):
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "RGBa"):
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel("A"))
        return bg
    if im.mode in ("RGB", "L") and "transparency" in im.info:
        im = im.convert("RGBA")
        return _flatten(im)
    if im.mode != "RGB":
        im = im.convert("RGB")  # CMYK, YCbCr, L, 1, F ...
    return im


def _file_bytes(fp: BinaryIO) -> bytes | None:
    """The whole file (None: a stream that cannot be read again; Pillow decodes it).
    Pillow seeks back to the pixel data itself if it decodes after all."""
    if isinstance(fp, io.BytesIO):
        return fp.getvalue()  # shares the bytes it was made from: no copy
    try:
        if fp.seekable():
            fp.seek(0)
            return fp.read()
    except (OSError, ValueError):
        pass
    return None


def _exif_orientation(im: Image.Image, decoded: bool = True) -> int:
    """`decoded`: False when Pillow has not decoded (and must not decode) the pixels:
    the metadata Pillow read up to them is all there is (see `pngdecode`)."""
    try:
        exif = im.getexif() if decoded else Image.Image.getexif(im)
        return int(exif.get(0x0112, 1) or 1)
    except Exception:  # broken EXIF must not make the picture unreadable
        return 1


def _with_orientation(frame: Image.Image, orientation: int) -> Image.Image:
    exif = Image.Exif()
    exif[0x0112] = orientation
    frame.info["exif"] = exif.tobytes()
    frame.getexif()[0x0112] = orientation
    return frame


def _text_params(im: Image.Image, decoded: bool = True) -> dict[str, str]:
    """PNG tEXt/iTXt/zTXt chunks: where Stable Diffusion UIs keep generation params.
    `decoded`: as for `_exif_orientation`."""
    if im.format != "PNG":
        return {}
    text = (getattr(im, "text", None) if decoded else png_text_so_far(im)) or {}
    out: dict[str, str] = {}
    for key, value in text.items():
        if isinstance(value, str) and len(value) <= 65536:
            out[str(key)] = value
    return out
