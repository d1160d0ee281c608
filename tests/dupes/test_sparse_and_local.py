"""Through the real scan and `dupes`: sparse line art compared on what is drawn, and
alternates told from duplicates by what changed where (issue 10, items 2 and 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageOps

from illudex.library import Library
from tests.dupes.pictures import drawing, flag, line_drawing


def _scan_and_find(tmp_path: Path, pictures: dict[str, Image.Image]
                   ) -> tuple[list[set[str]], set[frozenset[str]]]:
    folder = tmp_path / "pics"
    folder.mkdir()
    for name, im in pictures.items():
        im.save(folder / name, quality=85) if name.endswith(".jpg") else im.save(folder / name)
    lib = Library.open(tmp_path / "lib")
    lib.workers = 1
    lib.scan([folder])
    report = lib.dupes.find([folder])
    groups = [{Path(f.path).name for f in g.files} for g in report.groups]
    alternates = {frozenset((Path(a.path).name, Path(b.path).name)) for a, b in report.alternates}
    return groups, alternates


def _caption(im: Image.Image, text: str, at: tuple[int, int]) -> Image.Image:
    out = im.copy()
    ImageDraw.Draw(out).text(at, text, fill=(20, 20, 20))
    return out


def _crop(im: Image.Image, share: float) -> Image.Image:
    w, h = im.size
    return im.crop((int(w * share), int(h * share), w - int(w * share), h - int(h * share // 2)))


@pytest.fixture(scope="module")
def line_art(tmp_path_factory: pytest.TempPathFactory) -> list[set[str]]:
    pictures: dict[str, Image.Image] = {}
    for seed in range(10):
        im = line_drawing(seed)
        w, h = im.size
        pictures[f"d{seed}.png"] = im
        pictures[f"d{seed}_small.png"] = im.resize((w * 3 // 5, h * 3 // 5), Image.LANCZOS)
        pictures[f"d{seed}_crop.png"] = _crop(im, 0.04)
        pictures[f"d{seed}_caption.png"] = _caption(im, f"sample {seed * 7919}", (w // 3, h - 14))
        pictures[f"d{seed}_border.png"] = ImageOps.expand(im, border=16, fill="black")
        pictures[f"d{seed}.jpg"] = im
        pictures[f"d{seed}_marked.png"] = _caption(im, "(c) sample.org", (w - 100, h - 16))
    groups, _ = _scan_and_find(tmp_path_factory.mktemp("lineart"), pictures)
    return groups


def test_unrelated_line_drawings_are_never_grouped(line_art: list[set[str]]) -> None:
    for group in line_art:
        drawings = {name.split("_")[0].split(".")[0] for name in group}
        assert len(drawings) == 1, f"unrelated drawings grouped: {sorted(group)}"


def test_copies_of_a_line_drawing_are_grouped_with_it(line_art: list[set[str]]) -> None:
    for seed in range(10):
        copies = {f"d{seed}{s}" for s in (".png", "_small.png", "_crop.png", "_caption.png",
                                           "_border.png", ".jpg", "_marked.png")}
        assert copies in line_art, f"drawing {seed}: {[g for g in line_art if g & copies]}"


def _part_recoloured(im: Image.Image) -> Image.Image:
    """The fill of one shape changed: only that region's colour differs."""
    out = im.copy()
    w, h = im.size
    box = (w // 2 - w // 12, h // 2 - h // 12, w // 2 + w // 12, h // 2 + h // 12)
    region = out.crop(box).convert("HSV")
    hue, sat, val = region.split()
    region = Image.merge("HSV", (hue.point(lambda x: (x + 110) % 256), sat, val)).convert("RGB")
    out.paste(region, box)
    return out


def _added_prop(im: Image.Image) -> Image.Image:
    """A small sketched prop added in the middle of a sketch."""
    out = im.copy()
    w, h = im.size
    box = (w * 17 // 40, h * 17 // 40, w * 23 // 40, h * 23 // 40)
    d = ImageDraw.Draw(out)
    d.ellipse(box, outline="black", width=2)
    d.line(box, fill="black", width=2)
    d.line((box[0], box[3], box[2], box[1]), fill="black", width=2)
    return out


def _erased_part(im: Image.Image) -> Image.Image:
    out = im.copy()
    w, h = im.size
    ImageDraw.Draw(out).ellipse((w // 4, h // 4, w // 2, h // 2), fill="white")
    return out


@pytest.fixture(scope="module")
def alternates(tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[list[set[str]], set[frozenset[str]]]:
    pictures: dict[str, Image.Image] = {}
    for seed, change in ((21, _part_recoloured), (22, _added_prop), (23, _erased_part)):
        im = line_drawing(30) if change is _added_prop else drawing(seed)
        pictures[f"a{seed}.png"] = im
        pictures[f"a{seed}_copy.jpg"] = im
        pictures[f"a{seed}_alt.png"] = change(im)
    # Two flags with the same layout, two of their colours swapped: one stripe's hue
    # turns one way, the other's the other way (a recolour turns every hue alike).
    pictures["flag_one.png"] = flag(((200, 30, 30), (120, 190, 30), (30, 60, 200)))
    pictures["flag_two.png"] = flag(((120, 190, 30), (200, 30, 30), (30, 60, 200)))
    for seed in range(40, 46):  # strangers, so that the engine has candidates to refuse
        pictures[f"s{seed}.png"] = drawing(seed)
    return _scan_and_find(tmp_path_factory.mktemp("alternates"), pictures)


@pytest.mark.parametrize("seed", [21, 22, 23], ids=["part-recoloured", "added-prop", "erased"])
def test_a_local_change_is_an_alternate_not_a_duplicate(
    alternates: tuple[list[set[str]], set[frozenset[str]]], seed: int
) -> None:
    groups, pairs = alternates
    original, alternate = f"a{seed}.png", f"a{seed}_alt.png"
    assert {original, f"a{seed}_copy.jpg"} in groups
    assert not any({original, alternate} <= g for g in groups)
    assert any(alternate in pair and (original in pair or f"a{seed}_copy.jpg" in pair)
               for pair in pairs), sorted(map(sorted, pairs))


def test_two_flags_with_the_same_layout_are_not_alternates(
    alternates: tuple[list[set[str]], set[frozenset[str]]]
) -> None:
    groups, pairs = alternates
    assert frozenset(("flag_one.png", "flag_two.png")) not in pairs
    assert not any({"flag_one.png", "flag_two.png"} <= g for g in groups)


def test_a_small_watermark_stays_a_duplicate(line_art: list[set[str]]) -> None:
    """On sparse line art a watermark is a fair share of the ink: still a copy."""
    for seed in range(10):
        group = next((g for g in line_art if f"d{seed}.png" in g), set())
        assert f"d{seed}_marked.png" in group
        assert {name.split("_")[0].split(".")[0] for name in group} == {f"d{seed}"}
