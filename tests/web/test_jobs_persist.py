"""Jobs outlive the server: a restart (a new app on the same library) lists finished and
failed jobs with their reasons, and re-runs jobs a stop cut short, unless told not to."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from illudex.catalog import jobs as rows
from illudex.catalog.db import connect
from illudex.library import CATALOG_NAME, Library
from illudex.progress import Progress, ProgressCallback
from illudex.web import create_app
from tests.fixtures.onnx_models import build_tagger
from tests.web.conftest import BASE_URL, CHANGE, SampleLibrary

FINISHED = ("done", "failed", "stopped", "interrupted")


def listed(client: TestClient) -> dict[int, dict[str, Any]]:
    return {j["id"]: j for j in client.get("/api/jobs").json()["jobs"]}


def wait_for(client: TestClient, test: Callable[[dict[int, dict[str, Any]]], bool]
             ) -> dict[int, dict[str, Any]]:
    for _ in range(300):
        jobs = listed(client)
        if test(jobs):
            return jobs
        time.sleep(0.05)
    raise AssertionError(f"jobs never got there: {listed(client)}")


def left_running(sample: SampleLibrary) -> int:
    """A scan job's row as a killed server leaves it: running, half done."""
    conn = connect(sample.dir / CATALOG_NAME)
    try:
        job_id = rows.create(conn, "scan", {"paths": [str(sample.art)]}, time.time())
        rows.save(conn, rows.JobRow(id=job_id, kind="scan", params={}, state="running",
                                    done=3, total=20, started=time.time()))
    finally:
        conn.close()
    return job_id


def test_a_failed_jobs_reason_survives_a_restart(
    sample: SampleLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "models" / "broken-tagger"  # found on disk, fails when it runs
    build_tagger(broken)
    (broken / "model.onnx").write_bytes(b"not an onnx model")
    monkeypatch.setenv("ILLUDEX_MODELS_DIR", str(broken.parent))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        response = client.post("/api/jobs", headers=CHANGE,
                               json={"kind": "tag", "model": "broken-tagger"})
        assert response.status_code == 202, response.json()
        job = response.json()["id"]
        before = wait_for(client, lambda js: js[job]["state"] in FINISHED)[job]
        assert before["state"] == "failed" and before["message"], before
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        after = listed(client)[job]
        assert after["state"] == "failed"
        assert (after["message"], after["detail"]) == (before["message"], before["detail"])
        assert after["finished"] == before["finished"] and after["kind"] == "tag"
        assert client.get(f"/api/jobs/{job}").json()["message"] == before["message"]
        assert not [j for j in listed(client).values() if j["resumed_from"] == job]


def test_a_job_left_running_is_interrupted_and_resumed_to_done(
    sample: SampleLibrary, tmp_path: Path
) -> None:
    old = left_running(sample)
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        jobs = wait_for(client, lambda js: any(j["resumed_from"] == old and j["state"] in
                                               FINISHED for j in js.values()))
        new = next(j for j in jobs.values() if j["resumed_from"] == old)
        assert new["state"] == "done" and new["kind"] == "scan", new
        assert new["paths"] == [str(sample.art)] and new["id"] > old
        assert jobs[old]["state"] == "interrupted"
        assert jobs[old]["message"] == f"interrupted; resumed as job {new['id']}"
        assert list(jobs) == sorted(jobs, reverse=True)  # newest first
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:  # not twice
        time.sleep(0.3)
        assert [j["id"] for j in listed(client).values() if j["resumed_from"] == old] == \
            [new["id"]]


def test_no_resume_leaves_interrupted_jobs_alone(sample: SampleLibrary) -> None:
    old = left_running(sample)
    with TestClient(create_app(sample.dir, resume=False), base_url=BASE_URL) as client:
        jobs = listed(client)
        assert jobs[old]["state"] == "interrupted"
        assert "not resumed" in jobs[old]["message"]
        assert list(jobs) == [old]
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        time.sleep(0.3)
        assert list(listed(client)) == [old]  # the choice holds at the next start


def test_stopping_the_server_mid_job_resumes_it_at_the_next_start(
    sample: SampleLibrary
) -> None:
    started = threading.Event()

    def slow(lib: Library, progress: ProgressCallback) -> None:
        for n in range(10_000):  # stopped at a progress report, like a real scan
            progress(Progress("scan", n, 10_000, "slow.png"))
            started.set()
            time.sleep(0.01)

    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        jobs = client.app.state.illudex.jobs
        job = jobs.start("scan", [str(sample.art)], slow)
        assert started.wait(10)
        assert client.get(f"/api/jobs/{job.id}").json()["state"] == "running"
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        found = wait_for(client, lambda js: any(j["resumed_from"] == job.id and j["state"]
                                                in FINISHED for j in js.values()))
        new = next(j for j in found.values() if j["resumed_from"] == job.id)
        assert found[job.id]["state"] == "interrupted"
        assert found[job.id]["done"] >= 1  # progress was recorded as it ran
        assert new["state"] == "done" and new["summary"], new  # a real scan this time


def test_a_job_a_person_stops_is_not_resumed(sample: SampleLibrary) -> None:
    started = threading.Event()

    def slow(lib: Library, progress: ProgressCallback) -> None:
        for n in range(10_000):
            progress(Progress("scan", n, 10_000, "slow.png"))
            started.set()
            time.sleep(0.01)

    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        job = client.app.state.illudex.jobs.start("scan", [str(sample.art)], slow)
        assert started.wait(10)
        client.post(f"/api/jobs/{job.id}/cancel", headers=CHANGE)
        client.app.state.illudex.jobs.wait(10)
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        time.sleep(0.3)
        jobs = listed(client)
        assert jobs[job.id]["state"] == "stopped"
        assert list(jobs) == [job.id]


def test_a_dataset_build_left_running_is_built_again_from_its_spec(
    sample: SampleLibrary, tmp_path: Path
) -> None:
    out = tmp_path / "set"
    spec = f'[source]\npaths = ["{sample.art}"]\n\n[export]\nformat = "kohya"\ndir = "{out}"\n' \
           'name = "art"\nmode = "copy"\n'
    conn = connect(sample.dir / CATALOG_NAME)
    try:
        old = rows.create(conn, "dataset", {"paths": [str(out)], "spec_toml": spec}, 0.0)
        conn.execute("UPDATE jobs SET state = 'running' WHERE id = ?", (old,))
    finally:
        conn.close()
    with TestClient(create_app(sample.dir), base_url=BASE_URL) as client:
        jobs = wait_for(client, lambda js: any(j["resumed_from"] == old and j["state"] in
                                               FINISHED for j in js.values()))
        new = next(j for j in jobs.values() if j["resumed_from"] == old)
        assert new["state"] == "done", new
        built = client.get(f"/api/datasets/{new['id']}").json()
        assert built["result"]["exported"] > 0 and built["spec_toml"] == spec
        assert list((out / "img").iterdir())


@pytest.mark.parametrize("flag", ["--no-resume", "--resume"])
def test_serve_resumes_unless_told_not_to(sample: SampleLibrary, flag: str) -> None:
    """The real `illudex serve` process, stopped with Ctrl+C (SIGINT) as a person does."""
    old = left_running(sample)
    illudex = Path(sys.executable).with_name("illudex")
    server = subprocess.Popen(
        [str(illudex), "serve", "--port", "0", "--library", str(sample.dir), flag],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "300"})
    try:
        assert server.stdout is not None
        url = re.search(r"http://\S+/", server.stdout.readline())
        assert url, "serve printed no address"
        with httpx.Client(base_url=url.group(0), timeout=10) as http:
            for _ in range(300):
                jobs = {j["id"]: j for j in http.get("/api/jobs").json()["jobs"]}
                if flag == "--no-resume" or any(j["state"] == "done" for j in jobs.values()):
                    break
                time.sleep(0.05)
        assert jobs[old]["state"] == "interrupted"
        resumed = [j for j in jobs.values() if j["resumed_from"] == old]
        if flag == "--no-resume":
            assert not resumed and "not resumed" in jobs[old]["message"]
        else:
            assert [j["state"] for j in resumed] == ["done"], jobs
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(30) in (0, 130)  # 130: ended by SIGINT, as after Ctrl+C
