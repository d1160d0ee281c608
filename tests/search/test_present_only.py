"""Search covers the pictures in library folders: a trashed picture keeps its catalog row
(so undo restores its tags) but is no longer found, until undo brings it back."""

from __future__ import annotations

from pathlib import Path

from illudex.library import Library
from illudex.sample import make_sample


def test_trashed_pictures_leave_search_and_come_back_with_undo(tmp_path: Path) -> None:
    folder = make_sample(tmp_path / "pics", n=4)
    lib = Library.open(tmp_path / "lib")
    lib.workers = 1
    lib.scan([folder])
    picture = folder / "pictures" / "art_01.png"
    tag = (folder / "pictures" / "art_01.txt").read_text().split(", ")[0]

    def found() -> set[str]:
        return {Path(path).name for _, path, _ in lib.search(tag, limit=None).results}

    assert "art_01.png" in found()
    with lib.journal.action("test-trash", "one picture") as action:
        lib.journal.trash(action, str(picture))
    assert not picture.exists()
    assert "art_01.png" not in found()
    assert lib.tags.of_image(lib.image_at(lib.journal.trash_path(action, str(picture))).id)

    lib.history.undo()
    assert picture.exists() and "art_01.png" in found()
