"""The model pool: load on first use, release when idle or over the limit, memory freed."""

from __future__ import annotations

import gc
import shutil
import time
import weakref
from pathlib import Path

import pytest

from illudex.models import sessions
from illudex.models.pool import ModelPool, shared


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_model_loads_once_on_first_use(tagger_dir: Path) -> None:
    pool = ModelPool()
    assert pool.loaded() == []
    first = pool.tagger(str(tagger_dir), device="cpu")
    assert pool.tagger(str(tagger_dir), device="cpu") is first
    [info] = pool.loaded()
    assert (info.name, info.kind, info.device) == (str(tagger_dir), "tagger", "cpu")
    assert info.memory_bytes >= 0 and info.idle_s >= 0


def test_an_idle_model_is_released_and_its_session_freed(tagger_dir: Path) -> None:
    clock = Clock()
    pool = ModelPool(idle_s=300, clock=clock)
    tagger = pool.tagger(str(tagger_dir), device="cpu")
    session = weakref.ref(tagger.session)
    del tagger
    clock.now += 299
    assert pool.release_idle() == []
    clock.now += 2
    assert pool.release_idle() == [str(tagger_dir)]
    assert pool.loaded() == []
    gc.collect()
    assert session() is None  # no cache kept it: its memory is back
    again = pool.tagger(str(tagger_dir), device="cpu")  # and the next use loads it again
    assert again.session is not None and len(pool.loaded()) == 1


def test_idle_zero_keeps_models(tagger_dir: Path) -> None:
    clock = Clock()
    pool = ModelPool(idle_s=0, clock=clock)
    pool.tagger(str(tagger_dir), device="cpu")
    clock.now += 10**6
    assert pool.release_idle() == [] and len(pool.loaded()) == 1


def test_at_most_max_models_least_recently_used_out(tmp_path: Path, tagger_dir: Path,
                                                     clip_dir: Path) -> None:
    other = Path(shutil.copytree(tagger_dir, tmp_path / "tagger-2"))
    clock = Clock()
    pool = ModelPool(max_models=2, clock=clock)
    pool.tagger(str(tagger_dir), device="cpu")
    clock.now += 1
    pool.clip(str(clip_dir), device="cpu")
    clock.now += 1
    pool.tagger(str(tagger_dir), device="cpu")  # used again: now the clip is the oldest
    clock.now += 1
    pool.tagger(str(other), device="cpu")
    assert sorted(m.name for m in pool.loaded()) == sorted([str(tagger_dir), str(other)])


def test_the_reaper_releases_in_the_background(tagger_dir: Path) -> None:
    pool = ModelPool(idle_s=0.2)
    pool.tagger(str(tagger_dir), device="cpu")
    pool.start_reaper(every_s=0.05)
    try:
        end = time.monotonic() + 10
        while pool.loaded() and time.monotonic() < end:
            time.sleep(0.05)
        assert pool.loaded() == []
    finally:
        pool.stop_reaper()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ModelPool().configure(idle_s=-1, max_models=0)


def test_library_models_go_through_the_shared_pool(library: object, tagger_dir: Path,
                                                    tmp_path: Path) -> None:
    from tests.conftest import save_picture

    pool = shared()
    pool.release_all()
    save_picture(tmp_path / "art" / "a.png")
    library.scan([tmp_path / "art"])  # type: ignore[attr-defined]
    library.models.tag([tmp_path / "art"], model=str(tagger_dir), device="cpu")  # type: ignore[attr-defined]
    try:
        assert [m.name for m in pool.loaded()] == [str(tagger_dir)]
        assert any(s is pool.tagger(str(tagger_dir), "cpu").session
                   for s in sessions._sessions.values())
    finally:
        pool.release_all()
