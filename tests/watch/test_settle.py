"""The settler holds a changed path back until it stops changing."""

from __future__ import annotations

from pathlib import Path

from illudex.watch.settle import Settler


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_path_is_ready_only_after_the_quiet_time(tmp_path: Path) -> None:
    clock, f = Clock(), tmp_path / "a.png"
    f.write_bytes(b"x")
    s = Settler(settle=1.0, max_wait=60, clock=clock)
    s.touch(str(f))
    clock.now += 0.5
    s.touch(str(f))  # another write: the quiet time starts again
    clock.now += 0.9
    assert s.ready() == []
    clock.now += 0.2
    assert s.ready() == [str(f)]
    assert len(s) == 0


def test_a_file_growing_without_events_waits(tmp_path: Path) -> None:
    clock, f = Clock(), tmp_path / "a.png"
    f.write_bytes(b"x")
    s = Settler(settle=1.0, max_wait=60, clock=clock)
    s.touch(str(f))
    f.write_bytes(b"xyz")  # a network mount: the file grew, no event came
    clock.now += 1.5
    assert s.ready() == []
    clock.now += 1.5
    assert s.ready() == [str(f)]


def test_a_file_that_never_settles_goes_through_after_max_wait(tmp_path: Path) -> None:
    clock, f = Clock(), tmp_path / "a.png"
    s = Settler(settle=1.0, max_wait=5, clock=clock)
    s.touch(str(f))
    for _ in range(6):
        clock.now += 0.9
        s.touch(str(f))
    assert s.ready() == [str(f)]


def test_a_deleted_path_settles_too(tmp_path: Path) -> None:
    clock = Clock()
    s = Settler(settle=1.0, max_wait=60, clock=clock)
    s.touch(str(tmp_path / "gone.png"))
    clock.now += 1.1
    assert s.ready() == [str(tmp_path / "gone.png")]


def test_one_busy_file_holds_the_batch_back(tmp_path: Path) -> None:
    clock = Clock()
    s = Settler(settle=1.0, max_wait=10, clock=clock)
    s.touch(str(tmp_path / "done.png"))
    clock.now += 0.8
    s.touch(str(tmp_path / "busy.png"))
    clock.now += 0.5
    assert s.ready() == []  # done.png is quiet, but its folder is still being written
    clock.now += 0.6
    assert s.ready() == [str(tmp_path / "busy.png"), str(tmp_path / "done.png")]
