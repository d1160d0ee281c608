"""Resolving duplicates: non-keepers go to the trash or a folder with their caption files,
through the journal; undo brings back the same files, bytes and catalog rows (with tags);
a killed action leaves every file whole and can still be undone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from illudex.dupes.actions import PlannedMove
from illudex.journal import PART_SUFFIX
from illudex.library import Library
from illudex.scan.walk import TRASH_DIR_NAME

ILLUDEX = Path(sys.executable).with_name("illudex")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (outside library folders and trash) → its bytes."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("library", ".library", TRASH_DIR_NAME)]
        for name in files:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def catalog_state(lib: Library) -> set[tuple[int, str, str]]:
    """(image id, path, tags) of every catalogued picture."""
    return {(r[0], r[1], r[2] or "") for r in lib.conn.execute(
        "SELECT i.id, i.path, group_concat(t.name || ':' || it.source) FROM images i "
        "LEFT JOIN image_tags it ON it.image_id = i.id LEFT JOIN tags t ON t.id = it.tag_id "
        "GROUP BY i.id")}


@pytest.fixture
def copies(tmp_path: Path, make_picture) -> Path:
    """One picture in three places, each with its own caption; one unrelated picture."""
    art = tmp_path / "art"
    original = make_picture(art / "a.png", size=(80, 60), seed=1)
    (art / "a.txt").write_text("1girl, smile")
    for copy in (art / "a copy.png", art / "sub" / "a.png"):
        copy.parent.mkdir(exist_ok=True)
        shutil.copy2(original, copy)
        copy.with_suffix(".txt").write_text(f"copy, {copy.parent.name}")
    make_picture(art / "other.png", size=(80, 60), seed=2)
    return art


def trash_dupes(lib: Library, art: Path) -> list[PlannedMove]:
    lib.scan([art])
    report = lib.dupes.find([art])
    assert [g.relation for g in report.groups] == ["exact"]
    moves = lib.dupes.plan(report)
    result = lib.dupes.resolve(moves)
    assert result.failed == [] and len(result.done) == len(moves)
    return moves


def test_trash_moves_non_keepers_with_captions_and_undo_restores_exactly(
    library: Library, copies: Path
) -> None:
    library.scan([copies])
    before_files, before_rows = snapshot(copies), catalog_state(library)
    report = library.dupes.find([copies])
    group = report.groups[0]
    assert group.keep.path == str(copies / "a copy.png")  # all equal: first by path
    assert {Path(f.path).name for f in group.others} == {"a.png"}
    moves = library.dupes.plan(report)
    assert [(m.src, m.dst, m.keeper) for m in moves] == [
        (str(copies / "a.png"), None, group.keep.path),
        (str(copies / "sub" / "a.png"), None, group.keep.path)]
    library.dupes.resolve(moves)

    left = snapshot(copies)
    assert set(left) == {"a copy.png", "a copy.txt", "other.png"}
    trashed = sorted((library.dir / "trash").rglob("*.*"))
    assert sorted(p.name for p in trashed) == ["a.png", "a.png", "a.txt", "a.txt"]
    assert library.dupes.find([copies]).groups == []  # the trash is out of every library folder

    undo = library.history.undo()
    assert (undo.restored, undo.conflicts) == (4, [])
    assert snapshot(copies) == before_files
    assert catalog_state(library) == before_rows
    assert library.dupes.find([copies]).groups[0].keep.path == group.keep.path


def test_move_to_a_folder_keeps_captions_beside_their_pictures(
    library: Library, copies: Path, tmp_path: Path
) -> None:
    library.scan([copies])
    before = snapshot(copies)
    report = library.dupes.find([copies])
    moves = library.dupes.plan(report, move_to=tmp_path / "dupes")
    result = library.dupes.resolve(moves)
    # Both non-keepers are called a.png: the second gets a free name, and so does its caption.
    assert sorted(Path(dst).name for _, dst in result.done) == ["a (2).png", "a.png"]
    moved = {p.name: p.read_bytes() for p in (tmp_path / "dupes").iterdir()}
    assert moved["a.txt"] == b"1girl, smile" and moved["a (2).txt"] == b"copy, sub"
    assert moved["a.png"] == moved["a (2).png"] == before["a.png"]
    library.history.undo()
    assert snapshot(copies) == before
    assert list((tmp_path / "dupes").iterdir()) == []


def test_library_inside_the_folder_trash_survives_rescans_and_undo(
    tmp_path: Path, copies: Path
) -> None:
    """As `make run` sets it up: the library lives in the folder it indexes."""
    with Library.open(copies / ".library") as lib:
        lib.workers = 1
        lib.scan([copies])
        before_files, before_rows = snapshot(copies), catalog_state(lib)
        trash_dupes(lib, copies)
        rescan = lib.scan([copies])
        assert (rescan.removed, rescan.added) == (0, 0)
        assert lib.dupes.find([copies]).groups == []
        lib.history.undo()
        assert snapshot(copies) == before_files
        assert catalog_state(lib) == before_rows


@pytest.fixture
def shm_dir() -> Iterator[Path]:
    """A folder on tmpfs, which is another device than tmp_path here; or skip."""
    folder = Path("/dev/shm") / f"illudex-test-{uuid.uuid4().hex}"
    try:
        folder.mkdir()
    except OSError:
        pytest.skip("no /dev/shm here")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_trash_when_the_library_is_on_another_device(
    tmp_path: Path, copies: Path, shm_dir: Path
) -> None:
    if os.stat(shm_dir).st_dev == os.stat(copies).st_dev:
        pytest.skip("/dev/shm is on the same device as tmp_path")
    with Library.open(shm_dir / "library") as lib:
        lib.workers = 1
        lib.scan([copies])
        before_files, before_rows = snapshot(copies), catalog_state(lib)
        trash_dupes(lib, copies)
        assert len(list((copies / TRASH_DIR_NAME).rglob("*.png"))) == 2  # beside the pictures
        rescan = lib.scan([copies])
        assert (rescan.removed, rescan.added, rescan.errors) == (0, 0, [])
        assert lib.dupes.find([copies]).groups == []
        lib.history.undo()
        assert snapshot(copies) == before_files
        assert catalog_state(lib) == before_rows


def test_move_to_another_device_copies_and_undo_brings_back(
    library: Library, copies: Path, shm_dir: Path
) -> None:
    if os.stat(shm_dir).st_dev == os.stat(copies).st_dev:
        pytest.skip("/dev/shm is on the same device as tmp_path")
    library.scan([copies])
    before = snapshot(copies)
    mtime = (copies / "a.png").stat().st_mtime_ns
    report = library.dupes.find([copies])
    result = library.dupes.resolve(library.dupes.plan(report, move_to=shm_dir))
    assert len(result.done) == 2 and result.failed == []
    assert sorted(p.name for p in shm_dir.iterdir()) == ["a (2).png", "a (2).txt", "a.png",
                                                          "a.txt"]
    assert (shm_dir / "a.png").stat().st_mtime_ns == mtime
    assert not any(p.name.endswith(PART_SUFFIX) for p in shm_dir.iterdir())
    library.history.undo()
    assert snapshot(copies) == before and list(shm_dir.iterdir()) == []


def test_a_caption_shared_with_a_picture_that_stays_is_left_to_it(
    library: Library, tmp_path: Path, make_picture
) -> None:
    """a.png and a.jpg both read a.txt: moving the JPEG must not take the PNG's caption."""
    art = tmp_path / "art"
    big = make_picture(art / "a.png", size=(300, 200), seed=1)
    make_picture(art / "a.jpg", image=Image.open(big).convert("RGB").resize((150, 100)))
    (art / "a.txt").write_text("1girl, smile")
    library.scan([art])
    report = library.dupes.find([art])
    assert [Path(f.path).name for f in report.groups[0].others] == ["a.jpg"]
    result = library.dupes.resolve(library.dupes.plan(report, move_to=tmp_path / "d"))
    assert result.failed == []
    assert sorted(p.name for p in art.iterdir()) == ["a.png", "a.txt"]
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["a.jpg"]
    assert library.history.undo().conflicts == []
    assert sorted(p.name for p in art.iterdir()) == ["a.jpg", "a.png", "a.txt"]


def test_a_file_gone_before_the_action_is_reported_and_the_rest_done(
    library: Library, copies: Path
) -> None:
    library.scan([copies])
    moves = library.dupes.plan(library.dupes.find([copies]))
    os.unlink(moves[0].src)  # someone deleted it since
    result = library.dupes.resolve(moves)
    assert [f["path"] for f in result.failed] == [moves[0].src]
    assert "not there any more" in result.failed[0]["error"]
    assert [src for src, _ in result.done] == [moves[1].src]


def test_odd_names_are_trashed_and_restored(library: Library, tmp_path: Path, make_picture):
    art = tmp_path / "art"
    original = make_picture(art / "a.png", seed=5).read_bytes()
    (art / "a.txt").write_text("keeper, more_tags")
    odd = [os.fsencode(str(art)) + name for name in (
        b"/\xff\xfe.png", b"/-dash\nnew line.png", "/emoji 🎨.png".encode())]
    for raw in odd:
        with open(raw, "wb") as f:
            f.write(original)
        with open(raw[:-4] + b".txt", "wb") as f:
            f.write(b"odd")
    library.scan([art])
    before_files, before_rows = snapshot(art), catalog_state(library)
    assert len(trash_dupes(library, art)) == 3
    assert set(snapshot(art)) == {"a.png", "a.txt"}
    assert library.history.undo().conflicts == []
    assert snapshot(art) == before_files
    assert catalog_state(library) == before_rows


# --- a killed action ------------------------------------------------------------------

N_COPIES = 200


def test_action_killed_mid_way_leaves_files_whole_and_undo_reverses_it(
    tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    original = make_picture(art / "0000.png", size=(64, 64), seed=3).read_bytes()
    for n in range(N_COPIES):
        (art / f"{n:04d}.png").write_bytes(original)
        (art / f"{n:04d}.txt").write_text(f"tag_{n}, copy")
    library_dir = tmp_path / "library"
    with Library.open(library_dir) as lib:
        lib.workers = 1
        lib.scan([art])  # so that the command goes straight to the moves
        before_rows = catalog_state(lib)
    before = snapshot(art)

    command = subprocess.Popen(
        [str(ILLUDEX), "dupes", str(art), "--library", str(library_dir), "--trash", "--yes",
         "--json"], start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while command.poll() is None and time.monotonic() < deadline:
            if _journal_rows(library_dir / "catalog.db") >= 120:
                break
            time.sleep(0.002)
        os.killpg(command.pid, signal.SIGKILL)
    finally:
        command.wait(timeout=30)
    assert command.returncode == -signal.SIGKILL, "the action finished before the kill"

    # Every file whole, at its old place or in the trash; no half-made copies anywhere.
    with Library.open(library_dir) as lib:
        action_id = lib.history.actions()[0].id
        trash_root = Path(lib.journal.trash_path(action_id, str(art)))
    moved = 0
    for name, data in before.items():
        here, there = art / name, trash_root / name
        assert here.exists() != there.exists(), name
        assert (here if here.exists() else there).read_bytes() == data, name
        moved += there.exists()
    assert 0 < moved < 2 * (N_COPIES - 1)
    assert not [p for p in tmp_path.rglob(f"*{PART_SUFFIX}")]

    undo = subprocess.run([str(ILLUDEX), "undo", "--library", str(library_dir), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert undo.returncode == 0, undo.stderr
    assert snapshot(art) == before
    with Library.open(library_dir) as lib:
        assert catalog_state(lib) == before_rows
        assert lib.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _journal_rows(catalog: Path) -> int:
    if not catalog.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.1)
        try:
            return conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


# --- two names for one file; files changed between the report and the move ----------


def test_links_are_never_duplicates_and_nothing_outside_the_folder_moves(
    tmp_path: Path, make_picture
) -> None:
    """The issue's reproduction, through the real command: a link that wins the keeper
    choice (it has a caption), a linked folder and a linked file from outside."""
    work, out = tmp_path / "s" / "w", tmp_path / "s" / "out"
    real = make_picture(work / "real.png", size=(80, 60), seed=1)
    os.symlink("real.png", work / "zlink.png")
    (work / "zlink.txt").write_text("1girl, solo")
    external = make_picture(out / "external.png", size=(80, 60), seed=2)
    os.symlink(out, work / "ext_dir")
    os.symlink(external, work / "ext_file.png")
    before = {p: p.read_bytes() for p in (real, external)}
    done = subprocess.run(
        [str(ILLUDEX), "dupes", str(work), "--library", str(tmp_path / "s" / "L"), "--trash",
         "--yes", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["groups"] == []
    assert {p: p.read_bytes() for p in (real, external)} == before
    assert os.path.islink(work / "zlink.png") and os.path.exists(work / "zlink.png")


def test_one_file_under_two_names_in_two_folders_is_never_its_own_duplicate(
    library: Library, tmp_path: Path, make_picture
) -> None:
    """A hard link between two library folders: the catalog holds both names (each walk
    sees one). The report does not call them duplicates, and a move planned from an
    older report refuses: it would free nothing."""
    first = make_picture(tmp_path / "one" / "a.png", size=(80, 60), seed=1)
    (tmp_path / "two").mkdir()
    os.link(first, tmp_path / "two" / "a.png")
    library.scan([tmp_path / "one", tmp_path / "two"])
    assert library.dupes.find([tmp_path]).groups == []
    rows = {Path(r.path).parent.name: r for r in library.images(library.image_ids([tmp_path]))
            .values()}
    move = PlannedMove(rows["two"].path, None, rows["one"].path, rows["two"], rows["one"])
    result = library.dupes.resolve([move])
    assert result.done == [] and "one file under two names" in result.failed[0]["error"]
    assert first.exists() and (tmp_path / "two" / "a.png").exists()


def _report_then(library: Library, art: Path, change) -> tuple[list[PlannedMove], object]:
    library.scan([art])
    moves = library.dupes.plan(library.dupes.find([art]))
    change(moves)  # the folder changes after the report, before the move
    return moves, library.dupes.resolve(moves)


def test_a_file_replaced_by_other_content_after_the_report_stays(
    library: Library, copies: Path, make_picture
) -> None:
    def replace(moves: list[PlannedMove]) -> None:
        make_picture(moves[0].src, size=(80, 60), seed=9)  # a new, different picture

    moves, result = _report_then(library, copies, replace)
    assert [f["path"] for f in result.failed] == [moves[0].src]
    assert "changed since it was compared" in result.failed[0]["error"]
    assert [src for src, _ in result.done] == [moves[1].src]
    assert Path(moves[0].src).exists()


def test_a_touched_file_with_the_same_bytes_still_moves(
    library: Library, copies: Path
) -> None:
    def touch(moves: list[PlannedMove]) -> None:
        os.utime(moves[0].src, ns=(1, 1))  # the mtime moved: the digest decides

    _, result = _report_then(library, copies, touch)
    assert result.failed == [] and len(result.done) == 2


@pytest.mark.parametrize("how", ["deleted", "replaced", "linked"])
def test_a_keeper_gone_or_changed_after_the_report_skips_its_group(
    library: Library, copies: Path, make_picture, tmp_path: Path, how: str
) -> None:
    def change(moves: list[PlannedMove]) -> None:
        keeper = Path(moves[0].keeper)
        keeper.unlink()
        if how == "replaced":
            make_picture(keeper, size=(80, 60), seed=9)
        elif how == "linked":  # a link to one of the files that would go
            os.symlink(moves[0].src, keeper)

    before = snapshot(copies)
    _, result = _report_then(library, copies, change)
    assert result.done == [] and len(result.failed) == 2
    assert all(f["error"].startswith("group skipped: the picture to keep") for f in
               result.failed), result.failed
    after = snapshot(copies)
    assert {m: after[m] for m in ("a.png", "sub/a.png")} == \
        {m: before[m] for m in ("a.png", "sub/a.png")}


def test_a_file_replaced_by_a_link_to_outside_is_not_moved(
    library: Library, copies: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "elsewhere" / "secret.png"
    secret.parent.mkdir()

    def link(moves: list[PlannedMove]) -> None:
        shutil.move(moves[0].src, secret)
        os.symlink(secret, moves[0].src)

    moves, result = _report_then(library, copies, link)
    assert "now a symbolic link" in result.failed[0]["error"]
    assert secret.exists() and os.path.islink(moves[0].src)
