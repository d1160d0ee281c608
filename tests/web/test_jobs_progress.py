"""Web jobs read the one `Progress` type: a real scan job shows its stage, counts and the
file just stored; a stage of unknown size shows its name; a project error ends a job
with its message, a bug with its type (and the traceback in the server's log)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from illudex.errors import NotFound
from illudex.library import Library
from illudex.progress import Progress, ProgressCallback
from illudex.web.jobs import Job, JobManager, JobWork
from tests.web.conftest import SampleLibrary


def run(manager: JobManager, work: JobWork, paths: list[str] | None = None) -> Job:
    job = manager.start("scan", paths or [], work)
    manager.wait(60)
    deadline = time.monotonic() + 10
    while not job.finished_state and time.monotonic() < deadline:
        time.sleep(0.01)
    return job


@pytest.fixture
def manager(sample: SampleLibrary) -> Iterator[JobManager]:
    jobs = JobManager(sample.dir)
    yield jobs
    jobs.close()


def test_a_scan_job_shows_the_scan_reports(manager: JobManager, tmp_path: Path,
                                           make_picture) -> None:
    art = tmp_path / "more"
    last = make_picture(art / "z.png", seed=9)
    make_picture(art / "a.png", seed=8)
    seen: list[Progress] = []

    def work(lib: Library, progress: ProgressCallback) -> object:
        return lib.scan([art], progress=lambda p: (seen.append(p), progress(p)))

    job = run(manager, work, [str(art)])
    assert job.state == "done", job.message
    assert (job.stage, job.done, job.total) == ("scan", 2, 2)
    assert job.current == seen[-1].current and job.current in (str(last), str(art / "a.png"))
    assert job.as_json()["stage"] == "scan"


def test_a_stage_of_unknown_size_shows_its_name(manager: JobManager) -> None:
    def work(lib: Library, progress: ProgressCallback) -> None:
        progress(Progress("choosing k", 4, None))

    job = run(manager, work)
    assert (job.stage, job.current, job.done, job.total) == ("choosing k", "choosing k", 4, 0)


def test_failures_say_why(manager: JobManager, caplog: pytest.LogCaptureFixture) -> None:
    def refused(lib: Library, progress: ProgressCallback) -> None:
        raise NotFound("no picture with id 7 in the catalog")

    def bug(lib: Library, progress: ProgressCallback) -> None:
        raise ValueError("a bug")

    assert run(manager, refused).message == "no picture with id 7 in the catalog"
    with caplog.at_level(logging.ERROR, logger="illudex.web.jobs"):
        failed = run(manager, bug)
    assert failed.state == "failed" and failed.message == "ValueError: a bug"
    assert any(r.exc_info for r in caplog.records if r.name == "illudex.web.jobs")
