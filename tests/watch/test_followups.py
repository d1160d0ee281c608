"""Duplicate notices across a kill: the batch a killed watcher redoes names nothing twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from illudex.library import Library
from illudex.watch.followups import FollowUpRunner, FollowUps
from tests.conftest import save_picture


def test_a_redone_batch_does_not_name_an_announced_copy_again(tmp_path: Path) -> None:
    root = tmp_path / "art"
    original = save_picture(root / "orig.png", seed=3, size=(256, 192))
    with Library.open(tmp_path / "lib") as lib:
        lib.scan([root])
        runner = FollowUpRunner(lib, FollowUps(dupes=True))
        runner.start()
        shutil.copyfile(original, root / "copy1.png")
        lib.scan([root])
        before = runner.state.checked_until()
        assert runner.run([str(root)]).notices == 1
        # Killed after the notice, before `checked_until` moved: the next run redoes it.
        runner.state.set_checked_until(before)
        shutil.copyfile(original, root / "copy2.png")
        lib.scan([root])
        again = FollowUpRunner(lib, FollowUps(dupes=True))
        assert again.run([str(root)]).notices == 1
        last = again.notices.read()[-1]
    assert last["new"] == [str(root / "copy2.png")]
