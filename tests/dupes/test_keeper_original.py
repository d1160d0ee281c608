"""The suggested keeper is the copy the others were made from: each everyday edit, made
to a generated picture and found through the real scan and duplicate finder, loses to
the original, and the reason names the edit. The old order (resolution, lossless,
larger file) keeps the edited copy in several of these cases."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from illudex.dupes.finder import DupesOptions
from illudex.library import Library

OLD_PREFERENCE = ("resolution", "lossless", "size", "tags", "older")


def original_picture(seed: int = 3, size: tuple[int, int] = (640, 512)) -> Image.Image:
    """Clipart-like: filled shapes with sharp outlines and thin hatching on white."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    w, h = size
    for _ in range(9):
        x0, y0 = rnd.randint(0, w * 2 // 3), rnd.randint(0, h // 2)
        x1, y1 = x0 + rnd.randint(w // 8, w // 3), y0 + rnd.randint(h // 8, h // 3)
        fill = tuple(rnd.randint(30, 230) for _ in range(3))
        shape = d.ellipse if rnd.random() < 0.5 else d.rectangle
        shape((x0, y0, x1, y1), fill=fill, outline="black", width=2)
    for k in range(w // 3, w, 9):  # fine lines: detail a blur or an upscale loses
        d.line((k, h - 90, k + 30, h - 40), fill=(40, 40, 40), width=1)
    return im


def _text(im: Image.Image) -> Image.Image:
    im = im.copy()
    ImageDraw.Draw(im).text((12, im.height - 30), "sample 31337", fill=(20, 20, 20))
    return im


EDITS: dict[str, tuple[Callable[[Image.Image], Image.Image], str, str]] = {
    # name: (edit, file suffix, a word the reason must hold)
    "blur": (lambda im: im.filter(ImageFilter.GaussianBlur(1.0)), ".png", "blurred"),
    "text": (_text, ".png", "added text"),
    "border": (lambda im: ImageOps.expand(im, border=16, fill="black"), ".png", "border"),
    "upscale": (lambda im: im.resize((im.width * 9 // 5, im.height * 9 // 5),
                                     Image.Resampling.BICUBIC), ".png", "upscaled"),
    "downscale": (lambda im: im.resize((im.width * 3 // 5, im.height * 3 // 5),
                                       Image.Resampling.LANCZOS), ".png", "downscaled"),
    "jpeg": (lambda im: im, ".jpg", "re-encoded as JPEG"),
    "crop": (lambda im: im.crop((40, 30, im.width - 20, im.height - 36)), ".png", "cropped"),
}


def make_group(folder: Path, kinds: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    im = original_picture()
    im.save(folder / "a_original.png")
    for kind in kinds:
        edit, suffix, _ = EDITS[kind]
        out = edit(im)
        name = folder / f"b_{kind}{suffix}"
        out.save(name, quality=60) if suffix == ".jpg" else out.save(name)


def keeper(tmp_path: Path, folder: Path, preference: tuple[str, ...] | None = None) -> tuple[
    str, str, int
]:
    with Library.open(tmp_path / "lib") as lib:
        lib.workers = 1
        lib.scan([folder])
        options = DupesOptions(preference=preference) if preference else None
        report = lib.dupes.find([folder], options)
    assert len(report.groups) == 1, [[f.path for f in g.files] for g in report.groups]
    group = report.groups[0]
    return Path(group.keep.path).name, group.reason, len(group.files)


@pytest.mark.parametrize("kind", list(EDITS))
def test_the_original_is_kept_over_each_edit(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "pics"
    make_group(folder, [kind])
    name, reason, n = keeper(tmp_path, folder)
    assert n == 2
    assert name == "a_original.png", reason
    assert reason.startswith("the others: ") and EDITS[kind][2] in reason


def test_every_edit_in_one_group_the_reason_names_each(tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    make_group(folder, list(EDITS))
    name, reason, n = keeper(tmp_path, folder)
    assert n >= len(EDITS)  # the engine may leave one copy out; the keeper is the question
    assert name == "a_original.png", reason
    named = [word for _, _, word in EDITS.values() if word in reason]
    assert len(named) >= n - 2, reason  # copies with the same verdict may share a word


def test_the_old_order_kept_edited_copies(tmp_path: Path) -> None:
    """The order before: more pixels, then the larger file. An upscale has more pixels,
    a captioned or bordered PNG is a larger file: each beat the original."""
    for kind in ("upscale", "border", "text"):
        folder = tmp_path / kind
        make_group(folder, [kind])
        old, _, _ = keeper(tmp_path, folder, OLD_PREFERENCE)
        new, _, _ = keeper(tmp_path, folder)
        assert (old, new) == (f"b_{kind}.png", "a_original.png")


def test_prefer_still_overrides(tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    make_group(folder, ["upscale"])
    name, reason, _ = keeper(tmp_path, folder, ("resolution",))
    assert name == "b_upscale.png" and reason.startswith("higher resolution")


def test_a_chosen_keeper_is_remembered_by_content(tmp_path: Path) -> None:
    folder = tmp_path / "pics"
    make_group(folder, ["blur", "border"])
    with Library.open(tmp_path / "lib") as lib:
        lib.workers = 1
        lib.scan([folder])
        group = lib.dupes.find([folder]).groups[0]
        assert Path(group.keep.path).name == "a_original.png"
        border = next(f for f in group.files if f.path.endswith("b_border.png"))
        lib.dupes.choose_keeper(border.id, [f.id for f in group.files])
        (folder / "b_border.png").rename(folder / "renamed.png")  # content, not path
        lib.scan([folder])
        group = lib.dupes.find([folder]).groups[0]
        assert (Path(group.keep.path).name, group.reason) == ("renamed.png", "chosen by you")
        blur = next(f for f in group.files if f.path.endswith("b_blur.png"))
        lib.dupes.choose_keeper(blur.id, [f.id for f in group.files])  # a later choice wins
        assert Path(lib.dupes.find([folder]).groups[0].keep.path).name == "b_blur.png"
        assert lib.dupes.forget_keeper(folder / "b_blur.png")
        assert Path(lib.dupes.find([folder]).groups[0].keep.path).name == "a_original.png"


def test_a_library_scanned_before_measures_each_picture_once(tmp_path: Path) -> None:
    """A catalog from before the quality record (no such rows) gets them on the next
    scan, and the scan after that reads nothing."""
    folder = tmp_path / "pics"
    make_group(folder, ["blur", "border"])
    with Library.open(tmp_path / "lib") as lib:
        lib.workers = 1
        lib.scan([folder])
        lib.conn.execute("DELETE FROM features WHERE analyser = 'quality'")
        lib.conn.execute("DELETE FROM dupe_keeper_cache")
        assert lib.scan([folder]).unchanged == 0  # each read again, once
        stored = lib.conn.execute(
            "SELECT COUNT(*) FROM features WHERE analyser = 'quality'").fetchone()[0]
        assert stored == 3
        assert lib.scan([folder]).unchanged == 3
        assert Path(lib.dupes.find([folder]).groups[0].keep.path).name == "a_original.png"


def drawing_on_paper(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """Clipart inside `box` of a white page: the rest of the frame is margin."""
    rnd = random.Random(5)
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    x0, y0, x1, y1 = box
    for _ in range(9):
        a, b = rnd.randint(x0, (x0 + 2 * x1) // 3), rnd.randint(y0, (y0 + y1) // 2)
        c = min(x1, a + rnd.randint((x1 - x0) // 8, (x1 - x0) // 3))
        e = min(y1, b + rnd.randint((y1 - y0) // 8, (y1 - y0) // 3))
        fill = tuple(rnd.randint(30, 230) for _ in range(3))
        (d.ellipse if rnd.random() < 0.5 else d.rectangle)(
            (a, b, c, e), fill=fill, outline="black", width=2)
    for k in range(x0 + (x1 - x0) // 3, x1 - 30, 9):  # fine lines, as in original_picture
        d.line((k, y1 - 50, k + 30, y1 - 10), fill=(40, 40, 40), width=1)
    return im


def save_in_order(folder: Path, pictures: dict[str, Image.Image]) -> None:
    """Each picture a second older than the next: ties fall to age, the same each run."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, (name, im) in enumerate(pictures.items()):
        im.save(folder / name)
        stamp = 1_700_000_000_000_000_000 + k * 1_000_000_000
        os.utime(folder / name, ns=(stamp, stamp))


@pytest.mark.parametrize(("size", "cut"), [
    ((560, 480), (20, 24, 28, 22)),  # about as much off each side: it looked like a border
    ((500, 500), (6, 36, 36, 6)),  # a square cut as much across as down, unevenly
])
def test_a_crop_of_margin_alone_is_a_crop_not_a_border_on_the_original(
    tmp_path: Path, size: tuple[int, int], cut: tuple[int, int, int, int]
) -> None:
    """The crop leaves the drawing whole; the original then has more margin on every
    side. Its frame did not grow by the same pixels across and down (as a border's
    does), or not by the same on each side: the crop is the edit."""
    w, h = size
    im = drawing_on_paper(size, (60, 50, w - 60, h - 50))
    left, top, right, bottom = cut
    folder = tmp_path / "pics"
    save_in_order(folder, {"a_original.png": im,
                           "b_crop.png": im.crop((left, top, w - right, h - bottom))})
    name, reason, _ = keeper(tmp_path, folder)
    assert (name, reason) == ("a_original.png", "the others: cropped")


def test_a_border_round_a_small_drawing_on_a_page_is_named(tmp_path: Path) -> None:
    """A drawing of 300 x 110 px on a page of 794 x 1123: the trimmed boxes are measured
    on the page reduced eight times, so the two contents differ by a few per cent; the
    frame grew by exactly 38 px across and down, 19 on each side."""
    page = drawing_on_paper((794, 1123), (180, 190, 490, 300))
    folder = tmp_path / "pics"
    save_in_order(folder, {"a_original.png": page,
                           "b_border.png": ImageOps.expand(page, border=19, fill="white")})
    name, reason, _ = keeper(tmp_path, folder)
    assert (name, reason) == ("a_original.png", "the others: 19 px border")


def test_an_upscale_without_fine_detail_is_not_the_uncropped_copy(tmp_path: Path) -> None:
    """A smooth gradient loses nothing when shrunk, so detail cannot tell the upscale;
    its larger frame and content then must not make the original look cropped."""
    ramp = Image.linear_gradient("L").resize((300, 240))
    grad = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), ramp))
    folder = tmp_path / "pics"
    save_in_order(folder, {"a_original.png": grad,
                           "b_upscale.png": grad.resize((510, 408), Image.Resampling.BICUBIC)})
    name, reason, _ = keeper(tmp_path, folder)
    assert name == "a_original.png" and "cropped" not in reason, reason
