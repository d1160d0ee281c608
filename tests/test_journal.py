"""The journal: file moves and writes written down first, reversed exactly by undo, and
recoverable from every point a killed process can stop at."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from illudex.catalog import images as image_rows
from illudex.catalog.db import connect
from illudex.catalog.folders import ensure_folder
from illudex.journal import PART_SUFFIX, Journal, JournalError, _move_file, free_name
from illudex.scan.walk import TRASH_DIR_NAME


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    (tmp_path / "lib").mkdir()
    conn = connect(tmp_path / "lib" / "catalog.db")
    yield conn
    conn.close()


@pytest.fixture
def journal(catalog: sqlite3.Connection, tmp_path: Path) -> Journal:
    return Journal(catalog, tmp_path / "lib")


@pytest.fixture
def other_device(tmp_path: Path) -> Iterator[Path]:
    """A folder on another file system than tmp_path (tmpfs), or skip."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system here to move across")
    folder = shm / f"illudex-test-{uuid.uuid4().hex}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def catalogue(conn: sqlite3.Connection, path: Path, tags: list[str]) -> int:
    """A catalog row for the file at `path`, with sidecar tags, in a library folder."""
    folder_id = ensure_folder(conn, str(path.parent))
    st = path.stat()
    facts = image_rows.ImageFacts(
        path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns, digest="d" * 32, width=1,
        height=1, format="PNG", mode="RGB", has_alpha=False, animated=False, n_frames=1,
        params={})
    conn.execute("BEGIN")
    image_id = image_rows.upsert(conn, facts, folder_id)
    image_rows.set_sidecar_tags(conn, image_id, tags, 1)
    conn.execute("COMMIT")
    return image_id


def tags_of(conn: sqlite3.Connection, image_id: int) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ? ORDER BY t.name", (image_id,))]


def make_file(path: Path, data: bytes = b"picture bytes") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_move_and_undo_restore_file_and_catalog_row(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    src = make_file(tmp_path / "art" / "a.png")
    image_id = catalogue(catalog, src, ["1girl", "smile"])
    with journal.action("test-move", "one file") as action_id:
        dst = journal.move(action_id, str(src), str(tmp_path / "elsewhere" / "a.png"))
    assert not src.exists() and Path(dst).read_bytes() == b"picture bytes"
    row = image_rows.row_by_path(catalog, dst)
    assert row is not None and row.id == image_id
    assert row.folder_id is None  # out of every library folder now

    report = journal.undo()
    assert (report.action_id, report.restored, report.conflicts) == (action_id, 1, [])
    assert src.read_bytes() == b"picture bytes" and not os.path.exists(dst)
    back = image_rows.row_by_path(catalog, str(src))
    assert back is not None and back.id == image_id and back.folder_id is not None
    assert tags_of(catalog, image_id) == ["1girl", "smile"]
    assert catalog.execute("SELECT state FROM actions WHERE id = ?",
                           (action_id,)).fetchone()[0] == "undone"
    assert journal.undo().action_id is None  # nothing left


def test_move_never_overwrites(journal: Journal, tmp_path: Path) -> None:
    src = make_file(tmp_path / "a" / "x.png", b"new")
    taken = make_file(tmp_path / "b" / "x.png", b"old")
    make_file(tmp_path / "b" / "x (2).png", b"older")
    with journal.action("test-move", "clash") as action_id:
        dst = journal.move(action_id, str(src), str(taken))
    assert dst == str(tmp_path / "b" / "x (3).png")
    assert taken.read_bytes() == b"old" and Path(dst).read_bytes() == b"new"
    assert free_name(str(tmp_path / "b" / "free.png")) == str(tmp_path / "b" / "free.png")


def test_trash_goes_into_the_library_on_the_same_device(journal: Journal, tmp_path: Path):
    src = make_file(tmp_path / "art" / "a.png")
    with journal.action("test-trash", "trash") as action_id:
        dst = journal.trash(action_id, str(src))
    assert dst == str(tmp_path / "lib" / "trash" / str(action_id)) + str(src)
    assert Path(dst).read_bytes() == b"picture bytes"


def test_trash_stays_on_the_pictures_device(
    catalog: sqlite3.Connection, tmp_path: Path, other_device: Path
) -> None:
    journal = Journal(catalog, other_device)  # library on tmpfs, pictures on disk
    ensure_folder(catalog, str(tmp_path / "art"))
    src = make_file(tmp_path / "art" / "sub" / "a.png")
    catalogue(catalog, src, [])
    with journal.action("test-trash", "trash") as action_id:
        dst = journal.trash(action_id, str(src))
    trash_root = tmp_path / "art" / TRASH_DIR_NAME
    assert Path(dst).is_relative_to(trash_root)
    assert os.stat(dst).st_dev == os.stat(tmp_path).st_dev
    assert journal.undo().restored == 1 and src.read_bytes() == b"picture bytes"


def test_move_across_devices_copies_then_removes(
    journal: Journal, tmp_path: Path, other_device: Path
) -> None:
    data = os.urandom(300_000)
    src = make_file(tmp_path / "art" / "big.png", data)
    os.utime(src, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    with journal.action("test-move", "across") as action_id:
        dst = Path(journal.move(action_id, str(src), str(other_device / "big.png")))
    assert not src.exists()
    assert dst.read_bytes() == data
    assert dst.stat().st_mtime_ns == 1_600_000_000_000_000_000  # kept: rescans see no change
    assert not Path(str(dst) + PART_SUFFIX).exists()
    assert journal.undo().restored == 1
    assert src.read_bytes() == data and not dst.exists()


def test_write_text_keeps_the_old_content_and_undo_restores_it(
    journal: Journal, tmp_path: Path
) -> None:
    old = make_file(tmp_path / "a.txt", b"1girl, smile")
    new = tmp_path / "b.txt"
    with journal.action("write-txt", "captions") as action_id:
        journal.write_text(action_id, str(old), "1girl, frown")
        journal.write_text(action_id, str(new), "cat")
    assert old.read_text() == "1girl, frown" and new.read_text() == "cat"
    assert journal.undo().restored == 2
    assert old.read_text() == "1girl, smile"
    assert not new.exists()
    # A file undo takes away is kept in the trash, not deleted.
    kept = list((tmp_path / "lib" / "trash").rglob("b.txt*"))
    assert [p.read_text() for p in kept] == ["cat"]


def test_undo_goes_back_one_action_at_a_time(journal: Journal, tmp_path: Path) -> None:
    src = make_file(tmp_path / "a.png")
    with journal.action("m", "first") as first:
        step = journal.move(first, str(src), str(tmp_path / "b.png"))
    with journal.action("m", "second") as second:
        journal.move(second, step, str(tmp_path / "c.png"))
    assert journal.undo().action_id == second and (tmp_path / "b.png").exists()
    assert journal.undo().action_id == first and src.exists()


# --- a process killed part-way: the states it can leave, and undo from each ----------


def test_killed_before_the_move_leaves_the_file_and_undo_is_a_no_op(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    src = make_file(tmp_path / "a.png")
    with journal.action("m", "killed") as action_id:
        journal._record(action_id, "move", str(src), str(tmp_path / "t" / "a.png"))
    report = journal.undo()
    assert report.conflicts == [] and src.read_bytes() == b"picture bytes"


def test_killed_after_the_move_before_it_was_marked_done(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    src = make_file(tmp_path / "art" / "a.png")
    image_id = catalogue(catalog, src, ["x"])
    dst = tmp_path / "t" / "a.png"
    with journal.action("m", "killed") as action_id:
        journal._record(action_id, "move", str(src), str(dst))
        dst.parent.mkdir()
        os.rename(src, dst)  # done on disk; the process died before recording it
    assert journal.undo().conflicts == []
    assert src.read_bytes() == b"picture bytes" and not dst.exists()
    assert image_rows.row_by_path(catalog, str(src)).id == image_id


def test_killed_during_a_cross_device_copy(journal: Journal, tmp_path: Path) -> None:
    src = make_file(tmp_path / "a.png")
    dst = tmp_path / "t" / "a.png"
    with journal.action("m", "killed") as action_id:
        journal._record(action_id, "move", str(src), str(dst))
        make_file(Path(str(dst) + PART_SUFFIX), b"pict")  # half a copy
    assert journal.undo().conflicts == []
    assert src.read_bytes() == b"picture bytes"
    assert list((tmp_path / "t").iterdir()) == []


def test_killed_after_the_copy_before_the_source_was_removed(journal: Journal, tmp_path: Path):
    src = make_file(tmp_path / "a.png")
    dst = make_file(tmp_path / "t" / "a.png")  # the whole copy
    with journal.action("m", "killed") as action_id:
        journal._record(action_id, "move", str(src), str(dst))
    assert journal.undo().conflicts == []
    assert src.read_bytes() == b"picture bytes" and not dst.exists()


def test_undo_never_deletes_a_different_file(journal: Journal, tmp_path: Path) -> None:
    src = make_file(tmp_path / "a.png", b"original")
    with journal.action("m", "move") as action_id:
        dst = Path(journal.move(action_id, str(src), str(tmp_path / "t" / "a.png")))
    src.write_bytes(b"someone!")  # a new file of the same size took the old name
    report = journal.undo()
    assert len(report.conflicts) == 1 and "different file" in report.conflicts[0]
    assert src.read_bytes() == b"someone!" and dst.read_bytes() == b"original"


def test_undecodable_file_names_move_and_come_back(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    raw = os.fsencode(str(tmp_path / "art")) + b"/\xff\xfe.png"
    src = make_file(Path(os.fsdecode(raw)))
    image_id = catalogue(catalog, src, ["x"])
    with journal.action("test-trash", "odd name") as action_id:
        dst = journal.trash(action_id, str(src))
    assert not src.exists() and Path(dst).read_bytes() == b"picture bytes"
    assert journal.undo().conflicts == []
    with open(raw, "rb") as f:
        assert f.read() == b"picture bytes"
    assert image_rows.row_by_path(catalog, str(src)).id == image_id


def test_move_file_refuses_to_report_success_on_other_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _move_file(str(tmp_path / "missing.png"), str(tmp_path / "x.png"))


# --- caption writes: a backup undo can trust, no litter, no traceback ------------------


def _backup_of(catalog: sqlite3.Connection, path: Path) -> Path:
    row = catalog.execute("SELECT dst FROM journal WHERE op = 'write' AND src = ?",
                          (str(path),)).fetchone()
    return Path(row[0])


def test_a_backup_is_whole_named_by_its_digest_before_the_caption_changes(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    caption = make_file(tmp_path / "a.txt", b"1girl, smile")
    with journal.action("write-txt", "captions") as action_id:
        journal.write_text(action_id, str(caption), "1girl, frown")
    backup = _backup_of(catalog, caption)
    assert backup.read_bytes() == b"1girl, smile"
    digest = hashlib.blake2b(b"1girl, smile", digest_size=16).hexdigest()
    assert backup.name == f"1-{digest}.bak"
    assert not list(backup.parent.glob(f"*{PART_SUFFIX}"))


def test_undo_never_restores_a_backup_that_fails_its_digest(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    caption = make_file(tmp_path / "a.txt", b"1girl, smile")
    with journal.action("write-txt", "captions") as action_id:
        journal.write_text(action_id, str(caption), "1girl, frown")
    _backup_of(catalog, caption).write_bytes(b"")  # damaged since
    report = journal.undo()
    assert len(report.conflicts) == 1 and "damaged" in report.conflicts[0]
    assert caption.read_text() == "1girl, frown"  # not overwritten by the empty backup


def test_a_backup_cut_short_by_a_kill_is_never_copied_over_the_caption(
    journal: Journal, tmp_path: Path
) -> None:
    """The issue's state: a write journalled (pending) before its backup was copied, the
    process killed while copying: an empty backup. The caption is intact."""
    caption = make_file(tmp_path / "a.txt", b"1girl, smile")
    backup = make_file(tmp_path / "lib" / "backups" / "1" / "1.bak", b"")
    with journal.action("write-txt", "killed") as action_id:
        journal._record(action_id, "write", str(caption), str(backup))
    report = journal.undo()
    assert len(report.conflicts) == 1 and "incomplete" in report.conflicts[0]
    assert caption.read_bytes() == b"1girl, smile"


@pytest.mark.parametrize("existed", [True, False])
def test_undo_of_a_write_killed_half_way_leaves_no_part_file(
    journal: Journal, tmp_path: Path, existed: bool
) -> None:
    caption = tmp_path / "a.txt"
    if existed:
        make_file(caption, b"1girl, smile")
    with journal.action("write-txt", "captions") as action_id:
        journal.write_text(action_id, str(caption), "1girl, frown")
    # What a kill during the atomic write leaves: the row still pending, the new text
    # half written beside the caption.
    journal.conn.execute("UPDATE journal SET state = 'pending'")
    make_file(Path(str(caption) + PART_SUFFIX), b"1gi")
    assert journal.undo().conflicts == []
    assert list(tmp_path.glob(f"*{PART_SUFFIX}")) == []
    assert caption.exists() == existed
    if existed:
        assert caption.read_bytes() == b"1girl, smile"


def _undo_conflicts(library_dir: str) -> list[str]:
    conn = connect(Path(library_dir) / "catalog.db")
    try:
        return Journal(conn, Path(library_dir)).undo().conflicts
    finally:
        conn.close()


def test_undo_into_a_read_only_folder_says_not_undone(open_tmp: Path, unprivileged) -> None:
    folder = open_tmp / "art"
    src = make_file(folder / "a.png")
    (open_tmp / "lib").mkdir()
    conn = connect(open_tmp / "lib" / "catalog.db")
    with Journal(conn, open_tmp / "lib").action("m", "move") as action_id:
        Journal(conn, open_tmp / "lib").move(action_id, str(src), str(open_tmp / "t" / "a.png"))
    conn.close()
    for path in [open_tmp / "lib", *(open_tmp / "lib").rglob("*"), open_tmp / "t",
                 open_tmp / "t" / "a.png"]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    folder.chmod(0o555)  # the picture cannot go back in
    conflicts = unprivileged(_undo_conflicts, str(open_tmp / "lib"))
    assert len(conflicts) == 1 and "Permission denied" in conflicts[0], conflicts
    assert (open_tmp / "t" / "a.png").read_bytes() == b"picture bytes"


def test_nothing_reached_through_a_link_out_of_the_library_folders_is_moved(
    journal: Journal, catalog: sqlite3.Connection, tmp_path: Path
) -> None:
    """A folder of a library folder replaced by a link to elsewhere since the scan: the
    catalogued path now names a file nobody asked illudex to touch."""
    art, outside = tmp_path / "art", tmp_path / "outside"
    make_file(art / "keep.png")
    ensure_folder(catalog, str(art))
    external = make_file(outside / "a.png", b"not yours")
    os.symlink(outside, art / "sub")
    with journal.action("m", "trash") as action_id:
        with pytest.raises(JournalError, match="outside the library folders"):
            journal.trash(action_id, str(art / "sub" / "a.png"))
        with pytest.raises(JournalError, match="outside the library folders"):
            journal.write_text(action_id, str(art / "sub" / "a.txt"), "1girl")
        with pytest.raises(JournalError, match="outside the library folders"):
            journal.copy(action_id, str(art / "sub" / "a.png"), str(tmp_path / "x" / "a.png"))
        # A link inside the folders, and a link itself, may move.
        os.symlink(art, art / "here")
        journal.trash(action_id, str(art / "here" / "keep.png"))
    assert external.read_bytes() == b"not yours" and not (outside / "a.txt").exists()
    assert not (art / "keep.png").exists()


def test_undo_after_a_kill_while_backing_up_leaves_the_caption_and_no_litter(
    journal: Journal, tmp_path: Path
) -> None:
    """Killed while copying the backup: the copy is a part file, nothing is journalled
    yet, and the caption was not touched."""
    caption = make_file(tmp_path / "a.txt", b"1girl, smile")
    with journal.action("write-txt", "killed") as action_id:
        make_file(tmp_path / "lib" / "backups" / str(action_id) / f"1.bak{PART_SUFFIX}", b"1g")
    assert journal.undo().conflicts == []
    assert caption.read_bytes() == b"1girl, smile"
    assert not list((tmp_path / "lib").rglob(f"*{PART_SUFFIX}"))
