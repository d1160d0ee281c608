"""What real folders hold: every bad file recorded with a clear reason while the scan goes
on with the rest; odd but fine pictures decoded right; odd names, links, unreadable files
and folders that vanish mid-scan."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illudex.dupes import features as dupe_features
from illudex.library import Library
from illudex.progress import Progress

ODD_NAMES = ["-leading dash.png", "with space.png", "new\nline.png", "emoji 🎨✨.png",
             "日本語.png", "trailing space .png"]


def stored_feature(lib: Library, path: Path | str) -> np.ndarray:
    data = lib.conn.execute(
        "SELECT f.data FROM features f JOIN images i ON i.id = f.image_id "
        "WHERE i.path = ? AND f.analyser = ?", (str(path), dupe_features.NAME)).fetchone()[0]
    return np.frombuffer(data, np.uint8).astype(int)


@pytest.fixture
def messy(tmp_path: Path, make_picture, png_bomb: Path) -> Path:
    """A folder of broken files and awkward but fine pictures."""
    root = tmp_path / "messy"
    root.mkdir()
    (root / "zero.png").write_bytes(b"")
    whole_jpg = make_picture(tmp_path / "w.jpg", size=(300, 200)).read_bytes()
    (root / "truncated.jpg").write_bytes(whole_jpg[: len(whole_jpg) // 2])
    whole_png = make_picture(tmp_path / "w.png", size=(300, 200)).read_bytes()
    (root / "truncated.png").write_bytes(whole_png[: len(whole_png) // 2])
    (root / "text.png").write_text("hello, I am a text file\n")
    shutil.copy(png_bomb, root / "bomb.png")

    make_picture(root / "fine" / "cmyk.jpg", image=Image.new("CMYK", (40, 30), (0, 255, 255, 0)))
    Image.fromarray(np.full((30, 40), 40000, np.uint16)).save(root / "fine" / "grey16.png")
    palette = Image.new("P", (40, 30), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.paste(0, (0, 0, 20, 30))
    palette.save(root / "fine" / "palette.png", transparency=0)
    upright = Image.open(make_picture(tmp_path / "up.png", size=(160, 100), seed=4)).convert("RGB")
    make_picture(root / "fine" / "upright.jpg", image=upright, quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    make_picture(root / "fine" / "rotated.jpg", image=upright.transpose(Image.Transpose.ROTATE_90),
                 quality=95, exif=exif.tobytes())
    frames = [Image.new("RGB", (30, 20), c) for c in ("red", "lime", "blue", "white")]
    for suffix in (".gif", ".webp"):
        make_picture(root / "fine" / f"anim{suffix}", image=frames[0], save_all=True,
                     append_images=frames[1:], duration=50, loop=0, lossless=True)

    for n, name in enumerate(ODD_NAMES):
        make_picture(root / "names" / name, seed=10 + n)
    make_picture(Path(os.fsdecode(os.fsencode(str(root / "names")) + b"/\xff\xfe.png")), seed=20)
    os.symlink(root, root / "names" / "loop")
    return root


def test_a_messy_folder_is_scanned_with_every_problem_reported(
    library: Library, messy: Path
) -> None:
    start = time.perf_counter()
    report = library.scan([messy])
    assert time.perf_counter() - start < 10  # the bomb was refused, not decoded
    errors = {Path(e["path"]).name: e["error"] for e in report.errors}
    assert errors.pop("zero.png") == "empty file (0 bytes)"
    assert errors.pop("truncated.jpg").startswith("truncated or damaged file")
    assert errors.pop("truncated.png").startswith("truncated or damaged file")
    assert errors.pop("text.png") == "not a picture Pillow can read (unknown or corrupt format)"
    assert "too many pixels" in errors.pop("bomb.png")
    assert "not followed" in errors.pop("loop")  # a link to a folder above
    assert errors == {}
    fine = 7 + len(ODD_NAMES) + 1
    assert (report.added, report.updated, report.moved, report.removed) == (fine, 0, 0, 0)
    assert library.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == fine

    # The next scan reads none of them again and says the same.
    again = library.scan([messy])
    assert (again.added, again.unchanged) == (0, fine)
    assert sorted(e["path"] for e in again.errors) == sorted(e["path"] for e in report.errors)


def test_awkward_pictures_are_decoded_right(library: Library, messy: Path) -> None:
    library.scan([messy])
    facts = {Path(r["path"]).name: dict(r) for r in library.conn.execute(
        "SELECT * FROM images WHERE path LIKE ?", (str(messy / "fine") + "/%",))}
    assert facts["cmyk.jpg"]["mode"] == "CMYK"
    assert facts["grey16.png"]["mode"].startswith("I")
    assert facts["palette.png"]["mode"] == "P" and facts["palette.png"]["has_alpha"] == 1
    for name in ("anim.gif", "anim.webp"):
        assert (facts[name]["animated"], facts[name]["n_frames"]) == (1, 4), name
    rotated, upright = facts["rotated.jpg"], facts["upright.jpg"]
    assert (rotated["width"], rotated["height"]) == (upright["width"], upright["height"]) == (
        160, 100)
    # Hashed upright: the duplicate engine sees the same picture.
    same = stored_feature(library, messy / "fine" / "rotated.jpg")
    base = stored_feature(library, messy / "fine" / "upright.jpg")
    assert np.abs(same - base).mean() < 2
    unrelated = stored_feature(library, messy / "names" / ODD_NAMES[0])
    assert np.abs(unrelated - base).mean() > 10


def test_odd_and_undecodable_names_are_catalogued_and_findable(
    library: Library, messy: Path
) -> None:
    library.scan([messy])
    for name in ODD_NAMES:
        row = library.image_at(messy / "names" / name)
        assert Path(row.path).read_bytes()  # the stored path opens the file
    real = os.fsdecode(os.fsencode(str(messy / "names")) + b"/\xff\xfe.png")
    row = library.image_at(real)
    assert row.path == real and os.path.exists(row.path)
    shown, raw = library.conn.execute("SELECT path, raw_path FROM images WHERE id = ?",
                                      (row.id,)).fetchone()
    assert shown.endswith("/\\xff\\xfe.png") and raw == os.fsencode(real)


def test_pixel_limit_is_configurable(library: Library, tmp_path: Path, make_picture) -> None:
    make_picture(tmp_path / "art" / "big.png", size=(200, 200))
    make_picture(tmp_path / "art" / "small.png", size=(50, 50))
    library.max_pixels = 10_000
    report = library.scan([tmp_path / "art"])
    assert report.added == 1
    assert report.errors == [{"path": str(tmp_path / "art" / "big.png"), "error":
                              "refused: 200x200 = 40,000 pixels is over the limit of 10,000 "
                              "(decompression bomb?)"}]


def _scan_as_user(library_dir: str, folder: str) -> tuple[dict, list[str], list[str]]:
    with Library.open(library_dir) as lib:
        lib.workers = 1
        report = lib.scan([folder])
        names = [r[0] for r in lib.conn.execute("SELECT path FROM images ORDER BY path")]
        tags = [r[0] for r in lib.conn.execute("SELECT name FROM tags ORDER BY name")]
    return report.as_json(), names, tags


def test_unreadable_files_are_reported(open_tmp: Path, make_picture, unprivileged) -> None:
    art = open_tmp / "art"
    make_picture(art / "ok.png", seed=1)
    locked = make_picture(art / "locked.png", seed=2)
    make_picture(art / "captioned.png", seed=3)
    caption = art / "captioned.txt"
    caption.write_text("1girl")
    for path in (locked, caption):
        path.chmod(0)
    (open_tmp / "lib").mkdir(mode=0o777)
    (open_tmp / "lib").chmod(0o777)
    report, names, tags = unprivileged(_scan_as_user, str(open_tmp / "lib"), str(art))
    assert report["errors"] == [
        {"path": str(caption), "error": "cannot read caption: Permission denied"},
        {"path": str(locked), "error": "cannot read file: Permission denied"},
    ]
    assert report["added"] == 2
    assert names == [str(art / "captioned.png"), str(art / "ok.png")]
    assert tags == []
    # Permissions put right (which leaves size and mtime as they were): both are read now.
    for path in (locked, caption):
        path.chmod(0o644)
    report, names, tags = unprivileged(_scan_as_user, str(open_tmp / "lib"), str(art))
    assert (report["added"], report["unchanged"], report["errors"]) == (1, 2, [])
    assert str(locked) in names and tags == ["1girl"]


def test_a_folder_that_vanishes_mid_scan(library: Library, tmp_path: Path, make_picture):
    art = tmp_path / "art"
    for folder in ("a", "b"):
        for n in range(3):
            make_picture(art / folder / f"{n}.png", seed=n + (10 if folder == "b" else 0))
    shutil.copytree(art / "b", tmp_path / "b-away")  # keeps sizes and mtimes
    seen: list[str] = []

    def progress(report: Progress) -> None:
        seen.append(report.current)
        if report.done == 1:
            shutil.rmtree(art / "b")  # e.g. a network share dropping out

    report = library.scan([art], progress=progress)
    assert len(seen) == 6  # went on to the end
    assert report.added == 3
    assert {Path(e["path"]).parent.name for e in report.errors} == {"b"}
    assert {e["error"] for e in report.errors} == {"file vanished before it could be read"}
    # The next scan finds the folder gone and nothing to say about it.
    again = library.scan([art])
    assert (again.unchanged, again.errors) == (3, [])
    # It comes back as it was: its files are read now, not skipped as known failures.
    shutil.copytree(tmp_path / "b-away", art / "b")
    back = library.scan([art])
    assert (back.added, back.unchanged, back.errors) == (3, 3, [])
