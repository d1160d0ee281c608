"""Scanning: every format recorded with its facts; unchanged files skipped; moved files keep
their row; deleted files leave; sidecar captions read as tags and re-read when changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from illudex.catalog.tagrows import tag_ids
from illudex.dupes import features as dupe_features
from illudex.imageio import register_format_plugins
from illudex.library import Library


def counts(report) -> tuple[int, int, int, int, int]:
    return report.added, report.updated, report.moved, report.removed, report.unchanged


def row(lib: Library, path: Path) -> dict:
    r = lib.conn.execute("SELECT * FROM images WHERE path = ?", (str(path),)).fetchone()
    assert r is not None, f"{path} not catalogued"
    return dict(r)


def tags(lib: Library, image_id: int) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in lib.conn.execute(
        "SELECT t.name, it.source FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ?", (image_id,))}


def add_user_tag(lib: Library, image_id: int, name: str) -> None:
    ids = tag_ids(lib.conn, [name])
    lib.conn.execute("INSERT INTO image_tags (image_id, tag_id, source) VALUES (?, ?, 'user')",
                     (image_id, ids[name]))


def test_every_format_is_found_recursively_with_its_facts(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    # AVIF / HEIF only where their plugins are installed (`pip install 'illudex[formats]'`).
    register_format_plugins()
    suffixes = [s for s in (".jpg", ".png", ".webp", ".bmp", ".tif", ".avif", ".heic")
                if s in Image.registered_extensions()]
    for n, suffix in enumerate(suffixes):
        make_picture(art / f"d{n % 3}" / "deeper"[: n] / f"pic{suffix}", size=(90 + n, 60), seed=n)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "masterpiece, 1girl\nSteps: 28")
    make_picture(art / "gen.png", size=(64, 32), pnginfo=info)
    make_picture(art / "alpha.png", image=Image.new("RGBA", (10, 12), (1, 2, 3, 100)))
    frames = [Image.new("RGB", (30, 20), c) for c in ("red", "green", "blue")]
    make_picture(art / "anim.gif", image=frames[0], save_all=True, append_images=frames[1:])
    (art / "readme.md").write_text("not a picture")

    report = library.scan([art])
    assert counts(report) == (len(suffixes) + 3, 0, 0, 0, 0) and report.errors == []
    formats = {r[0] for r in library.conn.execute("SELECT format FROM images")}
    optional = {".avif": "AVIF", ".heic": "HEIF"}
    assert formats == {"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF"} | {
        optional[s] for s in suffixes if s in optional}

    jpg = row(library, art / "d0" / "pic.jpg")
    assert (jpg["width"], jpg["height"], jpg["mode"]) == (90, 60, "RGB")
    assert jpg["size"] == (art / "d0" / "pic.jpg").stat().st_size
    assert jpg["mtime_ns"] == (art / "d0" / "pic.jpg").stat().st_mtime_ns
    gen = row(library, art / "gen.png")
    assert json.loads(gen["params"]) == {"parameters": "masterpiece, 1girl\nSteps: 28"}
    alpha = row(library, art / "alpha.png")
    assert (alpha["has_alpha"], alpha["mode"], alpha["params"]) == (1, "RGBA", None)
    anim = row(library, art / "anim.gif")
    assert (anim["animated"], anim["n_frames"], anim["format"]) == (1, 3, "GIF")
    assert jpg["folder_id"] == anim["folder_id"] and library.folders() == [str(art)]
    # Every picture got the duplicate engine's feature from the same decode.
    assert library.conn.execute(
        "SELECT COUNT(*) FROM features WHERE analyser = ? AND version = ?",
        (dupe_features.NAME, dupe_features.VERSION)).fetchone()[0] == 10


def test_unchanged_files_are_skipped(library: Library, tmp_path: Path, make_picture) -> None:
    for n in range(3):
        make_picture(tmp_path / "art" / f"{n}.png", seed=n)
    library.scan([tmp_path / "art"])
    before = {r["path"]: r["scanned_at"] for r in library.conn.execute("SELECT * FROM images")}
    report = library.scan([tmp_path / "art"])
    assert counts(report) == (0, 0, 0, 0, 3)
    after = {r["path"]: r["scanned_at"] for r in library.conn.execute("SELECT * FROM images")}
    assert after == before  # not read again


def test_changed_file_is_read_again_and_keeps_its_row(
    library: Library, tmp_path: Path, make_picture
) -> None:
    pic = make_picture(tmp_path / "art" / "a.png", size=(50, 40), seed=1)
    library.scan([tmp_path / "art"])
    old = row(library, pic)
    add_user_tag(library, old["id"], "favourite")
    make_picture(pic, size=(70, 40), seed=2)
    os.utime(pic, ns=(old["mtime_ns"] + 10**9, old["mtime_ns"] + 10**9))
    assert counts(library.scan([tmp_path / "art"])) == (0, 1, 0, 0, 0)
    new = row(library, pic)
    assert new["id"] == old["id"] and new["digest"] != old["digest"] and new["width"] == 70
    assert ("favourite", "user") in tags(library, new["id"])


def test_moved_and_renamed_files_keep_id_and_tags(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    a = make_picture(art / "a.png", seed=1)
    (art / "a.txt").write_text("1girl, smile")
    b = make_picture(art / "b.jpg", seed=2)
    library.scan([art])
    a_id, b_id = row(library, a)["id"], row(library, b)["id"]
    add_user_tag(library, a_id, "favourite")

    (art / "new" / "place").mkdir(parents=True)
    a.rename(art / "new" / "place" / "renamed.png")
    (art / "a.txt").rename(art / "new" / "place" / "renamed.txt")
    b.rename(art / "b2.jpg")
    report = library.scan([art])
    assert counts(report) == (0, 0, 2, 0, 0)
    moved = row(library, art / "new" / "place" / "renamed.png")
    assert moved["id"] == a_id
    assert tags(library, a_id) == {("1girl", "sidecar"), ("smile", "sidecar"),
                                   ("favourite", "user")}
    assert row(library, art / "b2.jpg")["id"] == b_id
    assert library.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 2


def test_copies_are_added_and_identical_moves_each_keep_a_row(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    a = make_picture(art / "a.png", seed=1)
    library.scan([art])
    shutil.copy2(a, art / "copy.png")  # the original is still there: a copy, not a move
    assert counts(library.scan([art])) == (1, 0, 0, 0, 1)
    ids = {row(library, a)["id"], row(library, art / "copy.png")["id"]}
    a.rename(art / "x.png")
    (art / "copy.png").rename(art / "y.png")
    assert counts(library.scan([art])) == (0, 0, 2, 0, 0)
    assert {row(library, art / "x.png")["id"], row(library, art / "y.png")["id"]} == ids


def test_deleted_files_leave_the_catalog(library: Library, tmp_path: Path, make_picture):
    art = tmp_path / "art"
    a = make_picture(art / "sub" / "a.png", seed=1)
    make_picture(art / "b.png", seed=2)
    library.scan([art])
    a_id = row(library, a)["id"]
    shutil.rmtree(art / "sub")
    assert counts(library.scan([art])) == (0, 0, 0, 1, 1)
    assert library.conn.execute("SELECT COUNT(*) FROM images WHERE id = ?",
                                (a_id,)).fetchone()[0] == 0
    assert library.conn.execute("SELECT COUNT(*) FROM image_tags WHERE image_id = ?",
                                (a_id,)).fetchone()[0] == 0


def test_sidecar_tags_are_read_and_re_read_when_the_caption_changes(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    pic = make_picture(art / "a.png")
    caption = art / "a.txt"
    caption.write_text("1girl, Long Hair, smile\n")
    library.scan([art])
    image_id = row(library, pic)["id"]
    assert tags(library, image_id) == {("1girl", "sidecar"), ("long_hair", "sidecar"),
                                       ("smile", "sidecar")}
    add_user_tag(library, image_id, "favourite")

    caption.write_text("1girl, frown")
    os.utime(caption, ns=(caption.stat().st_mtime_ns + 10**9,) * 2)
    assert counts(library.scan([art])) == (0, 0, 0, 0, 1)  # the picture itself is unchanged
    assert tags(library, image_id) == {("1girl", "sidecar"), ("frown", "sidecar"),
                                       ("favourite", "user")}
    caption.unlink()
    library.scan([art])
    assert tags(library, image_id) == {("favourite", "user")}
    caption.write_text("cat")  # a caption added later
    library.scan([art])
    assert tags(library, image_id) == {("cat", "sidecar"), ("favourite", "user")}


def test_a_caption_that_cannot_be_read_does_not_stop_the_scan(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    make_picture(art / "a.png", seed=1)
    (art / "a.txt").mkdir()  # a folder where the caption would be
    make_picture(art / "b.png", seed=2)
    report = library.scan([art])
    assert report.added == 2
    assert row(library, art / "a.png")


def test_decoding_in_worker_processes_gives_the_same_catalog(
    tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    for n in range(30):  # over the size where the scan starts a pool
        make_picture(art / f"{n:02d}.png", size=(40 + n, 30), seed=n)
    catalogs = []
    for workers in (1, 2):
        with Library.open(tmp_path / f"lib{workers}") as lib:
            lib.workers = workers
            assert counts(lib.scan([art])) == (30, 0, 0, 0, 0)
            catalogs.append(lib.conn.execute(
                "SELECT i.path, digest, width, height, format, f.data FROM images i "
                "JOIN features f ON f.image_id = i.id ORDER BY i.path").fetchall())
    assert [tuple(r) for r in catalogs[0]] == [tuple(r) for r in catalogs[1]]


def test_failures_are_remembered_until_the_file_changes(
    library: Library, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    bad = art / "bad.png"
    bad.parent.mkdir()
    bad.write_text("not a picture")
    first = library.scan([art])
    assert [e["path"] for e in first.errors] == [str(bad)]
    again = library.scan([art])  # reported again, without reading it
    assert again.errors == first.errors and counts(again) == (0, 0, 0, 0, 0)
    make_picture(bad)
    assert counts(library.scan([art])) == (1, 0, 0, 0, 0)
    assert library.conn.execute("SELECT COUNT(*) FROM scan_errors").fetchone()[0] == 0


def test_a_picture_that_breaks_leaves_the_catalog_with_an_error(
    library: Library, tmp_path: Path, make_picture
) -> None:
    pic = make_picture(tmp_path / "art" / "a.png")
    library.scan([tmp_path / "art"])
    pic.write_bytes(pic.read_bytes()[:100])
    report = library.scan([tmp_path / "art"])
    assert counts(report) == (0, 0, 0, 1, 0)
    assert "truncated" in report.errors[0]["error"]


def test_missing_folder_is_reported(library: Library, tmp_path: Path) -> None:
    report = library.scan([tmp_path / "nowhere"])
    assert report.errors == [{"path": str(tmp_path / "nowhere"),
                              "error": "no such file or folder"}]


@pytest.mark.parametrize("nested", [False, True])
def test_library_inside_the_scanned_folder_is_not_indexed(
    tmp_path: Path, make_picture, nested: bool
) -> None:
    art = tmp_path / "art"
    make_picture(art / "a.png")
    lib_dir = art / ".library" if nested else art / "lib"
    with Library.open(lib_dir) as lib:
        lib.workers = 1
        make_picture(lib_dir / "trash" / "1" / "old.png")
        assert counts(lib.scan([art])) == (1, 0, 0, 0, 0)
