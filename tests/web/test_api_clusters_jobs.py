"""Chosen pictures trashed, moved or copied; clusters exported one at a time (undo takes
the folders away too) with readable errors; jobs with a chosen model, refused at once
when the model is missing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.onnx_models import build_tagger
from tests.web.conftest import CHANGE, SampleLibrary


def post(client: TestClient, url: str, body: dict) -> tuple[int, dict]:
    response = client.post(url, headers=CHANGE, json=body)
    return response.status_code, response.json()


def finished(client: TestClient, job_id: int) -> dict:
    for _ in range(600):
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "stopped", "interrupted"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_trash_move_and_copy_chosen_pictures_undoably(
    client: TestClient, sample: SampleLibrary
) -> None:
    items = client.get("/api/images", params={"limit": 2}).json()["items"]
    ids, paths = [i["id"] for i in items], [Path(i["path"]) for i in items]
    status, data = post(client, "/api/images/files", {"ids": ids, "how": "trash"})
    assert status == 200 and not data["failed"] and not any(p.exists() for p in paths)
    assert post(client, "/api/undo", {"action": data["action"]})[0] == 200
    assert all(p.exists() for p in paths)

    dest = sample.dir.parent / "out" / "copies"
    status, data = post(client, "/api/images/files", {"ids": ids, "how": "copy", "dest": str(dest)})
    assert status == 200 and sorted(p.name for p in dest.glob("*.*") if p.suffix != ".txt") == \
        sorted(p.name for p in paths)
    assert post(client, "/api/undo", {"action": data["action"]})[0] == 200
    assert not (sample.dir.parent / "out").exists()  # the folders it made went too

    assert post(client, "/api/images/files", {"ids": ids, "how": "move"})[0] == 400
    assert post(client, "/api/images/files", {"ids": [987654], "how": "trash"})[0] == 404


def test_export_chosen_clusters_and_readable_errors(
    client: TestClient, sample: SampleLibrary
) -> None:
    status, data = post(client, "/api/clusters", {"k": "many"})
    assert status == 400 and "whole number of 2 or more" in data["error"]
    assert post(client, "/api/clusters", {"k": 1})[0] == 400
    status, job = post(client, "/api/clusters", {"k": 2})
    assert status == 202 and finished(client, job["id"])["state"] == "done"
    result = client.get(f"/api/clusters/{job['id']}").json()
    first = result["clusters"][0]
    members = client.get(f"/api/clusters/{job['id']}/members/{first['id']}").json()
    assert members["total"] == first["size"] and len(members["items"]) == first["size"]

    dest = sample.dir.parent / "exports" / "clusters"
    status, data = post(client, f"/api/clusters/{job['id']}/export",
                        {"dest": str(dest), "clusters": [first["id"]]})
    assert status == 200
    folders = [p for p in dest.iterdir() if p.is_dir()]
    assert len(folders) == 1 and len([p for p in folders[0].iterdir()
                                      if p.suffix != ".txt"]) == first["size"]
    assert post(client, "/api/undo", {"action": data["action"]})[0] == 200
    assert not (sample.dir.parent / "exports").exists()
    status, data = post(client, f"/api/clusters/{job['id']}/export",
                        {"dest": str(dest), "clusters": [999]})
    assert status == 400 and "#999" in data["error"]


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    build_tagger(folder / "tiny-tagger")
    monkeypatch.setenv("ILLUDEX_MODELS_DIR", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return folder


def test_tag_job_model_choice_and_a_missing_model(
    client: TestClient, models_dir: Path
) -> None:
    listed = client.get("/api/jobs").json()["models"]["tag"]
    assert {"name": "tiny-tagger", "available": True, "default": False} in listed
    started = time.perf_counter()
    status, data = post(client, "/api/jobs", {"kind": "tag"})  # the default: not here
    assert status == 400 and time.perf_counter() - started < 5
    assert "is not on this machine" in data["error"] and "\n" not in data["error"]
    assert post(client, "/api/jobs", {"kind": "tag", "model": "tiny-tagger",
                                      "general_threshold": 1.5})[0] == 422
    status, job = post(client, "/api/jobs", {"kind": "tag", "model": "tiny-tagger",
                                             "general_threshold": 0.2})
    assert status == 202
    done = finished(client, job["id"])
    assert done["state"] == "done" and done["done"] == done["total"] > 0
