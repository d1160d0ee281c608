"""The watcher on real folders: a real watchdog observer, a real catalog, real files."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from illudex.watch import FollowUps, NoticeLog
from tests.conftest import draw_picture, save_picture
from tests.watch.conftest import Running, wait_for


def png_bytes(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    out = io.BytesIO()
    draw_picture(size, seed).save(out, "PNG")
    return out.getvalue()


def test_a_new_picture_is_indexed_within_seconds(tmp_path: Path, start_watcher: Callable[
        ..., Running]) -> None:
    root = tmp_path / "art"
    save_picture(root / "old.png", seed=1)
    w = start_watcher(root)
    assert w.count() == 1  # the start-up scan
    began = time.monotonic()
    save_picture(root / "sub" / "new.png", seed=2)
    wait_for(lambda: w.count() == 2)
    assert time.monotonic() - began < 5
    w.end()


def test_a_file_written_slowly_is_read_once_complete(tmp_path: Path, start_watcher: Callable[
        ..., Running]) -> None:
    root = tmp_path / "art"
    root.mkdir()
    w = start_watcher(root)
    data = png_bytes(3)
    target = root / "slow.png"
    with open(target, "wb") as f:  # chunks with pauses shorter than the quiet time
        for at in range(0, len(data), len(data) // 6 + 1):
            f.write(data[at:at + len(data) // 6 + 1])
            f.flush()
            time.sleep(0.12)
    wait_for(lambda: w.row(target) is not None)
    assert w.row(target)[1] == len(data)  # type: ignore[index]
    wait_for(lambda: w.watcher.totals.scan.added == 1)
    time.sleep(0.5)
    totals = w.watcher.totals.scan
    # Read once, whole: never catalogued half-written, never read again.
    assert (totals.added, totals.updated, totals.errors) == (1, 0, [])
    assert w.query("SELECT COUNT(*) FROM scan_errors") == [(0,)]
    w.end()


def test_moves_keep_the_row_and_deletions_leave(tmp_path: Path, start_watcher: Callable[
        ..., Running]) -> None:
    root = tmp_path / "art"
    a = save_picture(root / "a" / "pic.png", seed=4)
    save_picture(root / "keep.png", seed=5)
    w = start_watcher(root)
    first = w.row(a)
    moved = root / "b" / "renamed.png"
    moved.parent.mkdir()
    a.rename(moved)
    wait_for(lambda: w.row(moved) is not None)
    assert w.row(moved)[0] == first[0]  # type: ignore[index]  # the same row: tags survive
    wait_for(lambda: w.watcher.totals.scan.moved == 1)  # totals follow the commit
    moved.unlink()
    wait_for(lambda: w.count() == 1)
    w.end()


def test_a_folder_that_disappears_and_comes_back(tmp_path: Path, start_watcher: Callable[
        ..., Running]) -> None:
    root = tmp_path / "nas"
    save_picture(root / "one.png", seed=6)
    save_picture(root / "two.png", seed=7)
    w = start_watcher(root)
    assert w.count() == 2
    away = tmp_path / "asleep"
    root.rename(away)  # the share went to sleep
    wait_for(lambda: not w.watcher.watches.watching(str(root)))
    time.sleep(0.6)
    assert w.count() == 2  # a missing folder is not "every picture deleted"
    save_picture(away / "three.png", seed=8)
    away.rename(root)  # back, with one more picture
    wait_for(lambda: w.watcher.watches.watching(str(root)) and w.count() == 3)
    wait_for(lambda: w.watcher.totals.scan.added == 3)
    assert w.watcher.totals.scan.updated == 0  # the others were not read again
    save_picture(root / "four.png", seed=9)  # and watched again
    wait_for(lambda: w.count() == 4)
    assert w.thread.is_alive() and w.watcher.totals.failures == 0
    w.end()


def test_an_empty_mount_point_is_not_taken_for_deletions(
        tmp_path: Path, start_watcher: Callable[..., Running]) -> None:
    root = tmp_path / "mnt"
    pic = save_picture(root / "one.png", seed=6)
    w = start_watcher(root, rescan_s=0.3)
    pic.unlink()  # unmounted: the folder is there, and empty
    wait_for(lambda: not w.watcher.watches.watching(str(root)))
    time.sleep(0.8)  # past a rescan
    assert w.count() == 1
    w.end()


def test_a_new_duplicate_gets_one_notice(tmp_path: Path, start_watcher: Callable[
        ..., Running]) -> None:
    root = tmp_path / "art"
    original = save_picture(root / "orig.png", seed=10, size=(256, 192))
    save_picture(root / "other.png", seed=11, size=(256, 192))
    w = start_watcher(root, followups=FollowUps(dupes=True))
    notices = NoticeLog(w.watcher.lib.dir)
    assert notices.read() == []  # what was there before is not news
    shutil.copyfile(original, root / "copy.png")
    wait_for(lambda: len(NoticeLog(w.watcher.lib.dir).read()) == 1)
    notice = NoticeLog(w.watcher.lib.dir).read()[0]
    assert notice["kind"] == "duplicate" and notice["new"] == [str(root / "copy.png")]
    assert sorted(notice["files"]) == sorted([str(original), str(root / "copy.png")])
    save_picture(root / "unrelated.png", seed=12, size=(256, 192))
    wait_for(lambda: w.count() == 4)
    time.sleep(0.3)
    assert len(NoticeLog(w.watcher.lib.dir).read()) == 1
    w.end()


def test_new_pictures_are_tagged(tmp_path: Path, tagger_dir: Path, start_watcher: Callable[
        ..., Running]) -> None:
    root = tmp_path / "art"
    root.mkdir()
    w = start_watcher(root, followups=FollowUps(tag=str(tagger_dir), device="cpu"))
    new = save_picture(root / "new.png", seed=13)
    wait_for(lambda: w.query(
        "SELECT COUNT(*) FROM model_runs r JOIN images i ON i.id = r.image_id "
        "WHERE i.path = ? AND r.kind = 'tags'", str(new)) == [(1,)])
    wait_for(lambda: w.watcher.totals.tagged == 1)
    w.end()
