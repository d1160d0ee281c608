"""What a scan makes of links: a picture is catalogued once, where it lives; nothing is
read through a link (pictures, folders, captions)."""

from __future__ import annotations

import os
from pathlib import Path

from illudex.library import Library


def test_the_catalog_holds_each_picture_once_and_nothing_from_outside(
    library: Library, tmp_path: Path, make_picture
) -> None:
    work, out = tmp_path / "w", tmp_path / "out"
    make_picture(work / "real.png", seed=1)
    os.symlink("real.png", work / "zlink.png")
    make_picture(out / "external.png", seed=2)
    (out / "secret.txt").write_text("password123, hunter2")
    os.symlink(out, work / "ext_dir")
    os.symlink(out / "external.png", work / "ext_file.png")
    os.symlink(out / "secret.txt", work / "real.txt")  # a caption that is a link
    os.link(work / "real.png", work / "same inode.png")
    report = library.scan([work])
    assert report.added == 1
    paths = [r[0] for r in library.conn.execute("SELECT path FROM images")]
    assert paths == [str(work / "real.png")]
    assert library.conn.execute("SELECT COUNT(*) FROM image_tags").fetchone()[0] == 0
    assert sorted(Path(e["path"]).name for e in report.errors) == [
        "ext_dir", "ext_file.png", "zlink.png"]
