"""Walking folders: every picture, sorted, robust to links, odd names and unreadable folders."""

from __future__ import annotations

import os
from pathlib import Path

from illudex.scan.walk import TRASH_DIR_NAME, walk


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_walk_is_recursive_sorted_and_keeps_only_picture_names(tmp_path: Path) -> None:
    for name in ("b.png", "a.JPG", "sub/deeper/c.webp", "sub/d.gif", "notes.md", "e.psd"):
        touch(tmp_path / name, b"12345")
    caption = touch(tmp_path / "sub" / "d.txt", b"1girl")
    result = walk(str(tmp_path))
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in result.files] == [
        "a.JPG", "b.png", "sub/d.gif", "sub/deeper/c.webp"]
    assert {f.size for f in result.files} == {5}
    first = result.files[0]
    assert first.mtime_ns == os.stat(first.path).st_mtime_ns
    assert result.sidecars == {str(caption): caption.stat().st_mtime_ns}
    assert result.errors == [] and result.unlisted == []


def test_trash_and_excluded_folders_are_left_out(tmp_path: Path) -> None:
    touch(tmp_path / "keep.png")
    touch(tmp_path / TRASH_DIR_NAME / "1" / "gone.png")
    touch(tmp_path / ".git" / "x.png")
    touch(tmp_path / "library" / "trash" / "old.png")
    # A link to it is a link: never followed.
    os.symlink(tmp_path / "library", tmp_path / "lib-link")
    result = walk(str(tmp_path), frozenset({str(tmp_path / "library")}))
    assert [Path(f.path).name for f in result.files] == ["keep.png"]
    # Left out on purpose, so the scan must not take the pictures in them as deleted.
    assert sorted(Path(p).name for p in result.unlisted) == [TRASH_DIR_NAME, "library"]
    assert [Path(e.path).name for e in result.errors] == ["lib-link"]


def test_the_excluded_folder_is_known_by_identity(tmp_path: Path) -> None:
    touch(tmp_path / "art" / "keep.png")
    touch(tmp_path / "art" / "library" / "trash" / "old.png")
    os.symlink(tmp_path / "art", tmp_path / "art-link")  # the folder given is a link
    result = walk(str(tmp_path / "art-link"), frozenset({str(tmp_path / "art" / "library")}))
    assert [Path(f.path).name for f in result.files] == ["keep.png"]
    assert [Path(p).name for p in result.unlisted] == ["library"]


def test_symbolic_links_are_reported_and_never_followed(tmp_path: Path) -> None:
    """The issue's reproduction: links to a picture beside them, to a folder and to a
    picture outside the folder scanned, a loop, a link to itself and a broken link."""
    root, outside = tmp_path / "w", tmp_path / "out"
    real = touch(root / "real.png")
    touch(outside / "external.png")
    os.symlink("real.png", root / "zlink.png")
    os.symlink(outside, root / "ext_dir")
    os.symlink(outside / "external.png", root / "ext_file.png")
    os.symlink(root, root / "up")  # a loop
    os.symlink("self.png", root / "self.png")
    os.symlink(tmp_path / "missing.png", root / "broken.png")
    os.symlink(tmp_path / "notes.md", root / "notes.md")  # not a picture: not mentioned
    result = walk(str(root))
    assert [f.path for f in result.files] == [str(real)]
    errors = {Path(e.path).name: e.error for e in result.errors}
    assert sorted(errors) == ["broken.png", "ext_dir", "ext_file.png", "self.png", "up",
                              "zlink.png"]
    assert errors["ext_dir"].startswith(f"symbolic link to the folder {outside}: not followed")
    assert errors["zlink.png"].startswith(f"symbolic link to {real}: not followed")


def test_a_folder_given_as_a_link_is_walked(tmp_path: Path) -> None:
    touch(tmp_path / "elsewhere" / "real.png")
    os.symlink(tmp_path / "elsewhere", tmp_path / "root")
    result = walk(str(tmp_path / "root"))
    assert [f.path for f in result.files] == [str(tmp_path / "root" / "real.png")]


def test_hard_links_are_one_picture_listed_once(tmp_path: Path) -> None:
    first = touch(tmp_path / "a" / "first.png", b"same inode")
    os.link(first, tmp_path / "b.png")
    os.link(first, tmp_path / "a" / "second.png")
    touch(tmp_path / "c.png", b"same inode")  # same bytes, another file: listed
    result = walk(str(tmp_path))
    assert [Path(f.path).relative_to(tmp_path).as_posix() for f in result.files] == [
        "a/first.png", "c.png"]
    assert result.errors == []


def test_non_files_with_picture_names_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")  # reading it would block the scan forever
    touch(tmp_path / "folder.png" / "inner.png")
    result = walk(str(tmp_path))
    assert [Path(f.path).name for f in result.files] == ["inner.png"]


def test_odd_and_undecodable_names(tmp_path: Path) -> None:
    names = ["-dash.png", "a b.png", "new\nline.png", "emoji 🎨.png", "日本.png"]
    for name in names:
        touch(tmp_path / name)
    raw = os.fsencode(str(tmp_path)) + b"/\xff\xfe.png"
    with open(raw, "wb") as f:
        f.write(b"x")
    found = {f.path for f in walk(str(tmp_path)).files}
    assert found == {str(tmp_path / n) for n in names} | {os.fsdecode(raw)}
    assert all(os.path.exists(p) for p in found)


def test_missing_root_is_an_error_not_an_exception(tmp_path: Path) -> None:
    result = walk(str(tmp_path / "nope"))
    assert result.files == []
    assert result.errors[0].error == "folder vanished during the scan"
    assert result.unlisted == [str(tmp_path / "nope")]


def _walk_summary(root: str) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    result = walk(root)
    return ([f.path for f in result.files], [(e.path, e.error) for e in result.errors],
            result.unlisted)


def test_unreadable_folder_is_reported_and_marked_unlisted(open_tmp: Path, unprivileged):
    touch(open_tmp / "ok" / "a.png")
    touch(open_tmp / "locked" / "b.png")
    (open_tmp / "locked").chmod(0)
    try:
        files, errors, unlisted = unprivileged(_walk_summary, str(open_tmp))
    finally:
        (open_tmp / "locked").chmod(0o755)
    assert files == [str(open_tmp / "ok" / "a.png")]
    assert errors == [(str(open_tmp / "locked"), "cannot list folder: Permission denied")]
    assert unlisted == [str(open_tmp / "locked")]
