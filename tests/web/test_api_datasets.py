"""The datasets API against the real app and a real scanned library: steps from the
registry, a preview that says what each step drops and why (and writes nothing), a build
as a job whose report alone is served, form values turned into step parameters, errors
as sentences naming their field, and the cross-site guard on every change."""

from __future__ import annotations

import hashlib
import io
import re
import time
import tomllib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from illudex.dataset.registry import registry
from illudex.dataset.spec import parse_spec
from illudex.web.datasetform import MISSING, Invalid, coerce
from tests.web.conftest import CHANGE, SampleLibrary


def post(client: TestClient, url: str, body: dict) -> tuple[int, dict]:
    response = client.post(url, headers=CHANGE, json=body)
    return response.status_code, response.json()


def all_ids(client: TestClient) -> list[int]:
    return client.get("/api/images/ids").json()["ids"]


def finished(client: TestClient, url: str) -> dict:
    for _ in range(600):
        job = client.get(url).json()
        if job["state"] in ("done", "failed", "stopped", "interrupted"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"{url} did not finish")


def digests(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_steps_and_export_options_come_from_the_registry(reader: TestClient) -> None:
    data = reader.get("/api/datasets/steps").json()
    assert [s["name"] for s in data["steps"]] == sorted(registry())
    size = next(s for s in data["steps"] if s["name"] == "align-min-size")["params"]
    assert size == [{"name": "size", "default": 512, "help": "shorter side after (px)"}]
    options = {o["name"]: o for o in data["options"]}
    assert options["repeats"]["default"] == 1 and options["repeats"]["formats"] == \
        ["kohya", "kohya-finetune"]
    assert "kohya" in data["formats"] and "link" in data["modes"]


def test_preview_says_what_each_step_drops_and_writes_nothing(
    reader: TestClient, shared_sample: SampleLibrary, tmp_path: Path
) -> None:
    items = reader.get("/api/images", params={"limit": 100}).json()["items"]
    small = {i["name"] for i in items if min(i["width"], i["height"]) < 400}
    assert small  # the sample has small copies to drop
    before = digests(shared_sample.art)
    body = {"source": {"kind": "ids", "ids": [i["id"] for i in items]}, "sample": 100,
            "steps": [{"use": "min-size", "params": {"size": "400"}},  # text, as a form sends
                      {"use": "dedupe"}, {"use": "pad", "params": {"size": "256"}}],
            "export": {"format": "kohya", "dir": str(tmp_path / "never")}}
    status, data = post(reader, "/api/datasets/preview", body)
    assert status == 200, data
    assert data["sample"] == data["total"] == len(items)
    assert len(data["kept"]) + len(data["dropped"]) == len(items)
    by_step = {d["name"]: (d["step"], d["reason"]) for d in data["dropped"]}
    assert {n for n, (s, _) in by_step.items() if s == "min-size"} == small
    assert all(r for _, r in by_step.values())
    assert by_step["art_00 copy.png"][0] == "dedupe"
    assert "exact duplicate" in by_step["art_00 copy.png"][1]
    # The kept pictures are shown as the steps made them (padded to 256 × 256).
    first = data["kept"][0]
    assert (first["out_width"], first["out_height"]) == (256, 256)
    picture = reader.get(first["changed"])
    assert picture.status_code == 200
    assert Image.open(io.BytesIO(picture.content)).size == (256, 256)
    assert not (tmp_path / "never").exists() and digests(shared_sample.art) == before

    status, data = post(reader, "/api/datasets/preview", {**body, "sample": 3})
    assert status == 200 and data["sample"] == 3 and data["total"] == len(items)
    assert len(data["kept"]) + len(data["dropped"]) == 3


def test_build_exports_kohya_as_a_job_and_serves_only_its_report(
    reader: TestClient, shared_sample: SampleLibrary, tmp_path: Path
) -> None:
    before = digests(shared_sample.art)
    out = tmp_path / "surtr"
    body = {"source": {"kind": "ids", "ids": all_ids(reader)},
            "steps": [{"use": "dedupe"}, {"use": "caption", "params": {"first": "surtr"}}],
            "export": {"format": "kohya", "dir": str(out),
                       "options": {"name": "surtr", "repeats": "10", "mode": "copy"}}}
    status, job = post(reader, "/api/datasets", body)
    assert status == 202 and job["kind"] == "dataset", job
    job = finished(reader, f"/api/datasets/{job['id']}")
    assert job["state"] == "done", job
    result = job["result"]
    captions = sorted((out / "img" / "10_surtr").glob("*.txt"))
    assert result["exported"] == len(captions) > 0 and result["dropped"]["dedupe"] > 0
    assert all(c.read_text().startswith("surtr") for c in captions)
    assert 'caption_extension = ".txt"' in (out / "dataset.toml").read_text()
    assert digests(shared_sample.art) == before  # sources never change
    spec = parse_spec(tomllib.loads(job["spec_toml"]))  # the CLI's spec for the same build
    assert spec.source.ids == tuple(body["source"]["ids"]) and spec.out == out
    assert [(s.use, s.params) for s in spec.steps] == [("dedupe", {}),
                                                       ("caption", {"first": ["surtr"]})]
    assert (spec.export.name, spec.export.repeats, spec.export.mode) == ("surtr", 10, "copy")

    page = reader.get(job["report_url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    shown = re.findall(r'src="([^"]+)"', page.text)
    assert len(shown) == result["exported"] + sum(result["dropped"].values())
    for src in shown:
        response = reader.get(job["report_url"] + src)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "image/")
    (out / ".report" / "secret.webp").write_text("not written by the report")
    for name in ("dataset.toml", ".illudex-dataset.json", captions[0].relative_to(out),
                 "%2e%2e/%2e%2e/%2e%2e/etc/passwd", ".report/%2e%2e/dataset.toml",
                 "..%2f..%2fetc%2fpasswd", ".report/secret.webp"):
        response = reader.get(f"{job['report_url']}{name}")
        assert response.status_code == 404, name
    assert reader.get("/api/datasets/9999/report/").status_code == 404
    assert reader.get("/api/datasets/cache/..%2f..%2fcatalog.db").status_code == 404

    # The same build again: nothing to redo, nothing rewritten.
    status, again = post(reader, "/api/datasets", body)
    again = finished(reader, f"/api/datasets/{again['id']}")["result"]
    assert (again["processed"], again["written"], again["exported"]) == \
        (0, 0, result["exported"])


def test_a_cluster_is_a_source(reader: TestClient) -> None:
    status, job = post(reader, "/api/clusters", {"k": 2})
    assert status == 202
    finished(reader, f"/api/jobs/{job['id']}")
    cluster = reader.get(f"/api/clusters/{job['id']}").json()["clusters"][0]
    body = {"source": {"kind": "cluster", "cluster_job": job["id"], "cluster": cluster["id"]},
            "sample": 100}
    status, data = post(reader, "/api/datasets/preview", body)
    assert status == 200 and data["total"] == cluster["size"] == len(data["kept"])
    assert {i["id"] for i in data["kept"]} == set(cluster["image_ids"])


@pytest.mark.parametrize(("change", "where", "words"), [
    ({"export": {"dir": ""}}, "export.dir", "Choose the folder"),
    ({"export": {"dir": "datasets/x"}}, "export.dir", "give the full path"),
    ({"export": {"dir": "ART/inside"}}, "export.dir", "overlaps the library folder"),
    ({"export": {"dir": "BUSY"}}, "export.dir", "already holds files that are not"),
    ({"export": {"format": "zip"}}, "export.format", "Choose a format"),
    ({"export": {"options": {"repeats": "0"}}}, "export.repeats", "repeats must be at least 1"),
    ({"export": {"options": {"repeats": "ten"}}}, "export.repeats", "give a whole number"),
    ({"export": {"options": {"mode": "teleport"}}}, "export.mode", "mode must be one of"),
    ({"export": {"options": {"colour": "red"}}}, "export", "no option 'colour'"),
    ({"steps": [{"use": "sharpen"}]}, "step-1", "no step named 'sharpen'"),
    ({"steps": [{"use": "pad"}, {"use": "align-min-size", "params": {"size": "big"}}]},
     "step-2.size", "Step 2 (align-min-size), size: give a whole number"),
    ({"steps": [{"use": "pad", "params": {"width": 3}}]}, "step-1", "no parameter 'width'"),
    ({"steps": [{"use": "rename", "params": {"how": "backwards"}}]}, "step-1.how", "Step 1"),
    ({"source": {"kind": "query", "query": " "}}, "source", "Type a query"),
    ({"source": {"kind": "query", "query": "width:>=abc"}}, "source", "cannot be used"),
    ({"source": {"kind": "ids", "ids": []}}, "source", "No pictures chosen"),
    ({"source": {"kind": "ids", "ids": [987654]}}, "source", "no longer in the library"),
    ({"source": {"kind": "cluster", "cluster_job": 999, "cluster": 0}}, "source",
     "no finished clustering"),
])
def test_errors_are_sentences_that_name_their_field(
    reader: TestClient, shared_sample: SampleLibrary, change: dict, where: str, words: str
) -> None:
    body = {"source": {"kind": "query", "query": "1girl"}, "steps": [],
            "export": {"format": "kohya", "dir": str(shared_sample.dir.parent / "out")}}
    for key, value in change.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) else value
    if body["export"]["dir"] == "BUSY":  # a folder of the user's own files
        busy = shared_sample.dir.parent / "busy"
        busy.mkdir(exist_ok=True)
        (busy / "notes.txt").write_text("mine")
        body["export"]["dir"] = str(busy)
    if body["export"]["dir"].startswith("ART"):
        body["export"]["dir"] = body["export"]["dir"].replace("ART", str(shared_sample.art))
    status, data = post(reader, "/api/datasets", body)
    assert status == 400, data
    assert data["where"] == where and words in data["error"], data
    assert data["error"][0].isupper() and data["error"].endswith(".")
    assert "\n" not in data["error"] and "[export]" not in data["error"]


def test_changes_need_the_same_site_header(reader: TestClient, tmp_path: Path) -> None:
    body = {"source": {"kind": "ids", "ids": all_ids(reader)[:1]},
            "export": {"format": "files", "dir": str(tmp_path / "x")}}
    for url in ("/api/datasets", "/api/datasets/preview"):
        assert reader.post(url, json=body).status_code == 403
        assert reader.post(url, json=body, headers={
            **CHANGE, "Origin": "http://evil.example"}).status_code == 403
    assert not (tmp_path / "x").exists()


def test_form_text_becomes_the_parameter_type() -> None:
    assert coerce(512, "512, 768", "pad size", "w") == [512, 768]
    assert coerce(512, " 640 ", "size", "w") == 640
    assert coerce(0.1, "0.25", "saturation", "w") == 0.25
    assert coerce([], "simple background, *_background", "drop", "w") == \
        ["simple background", "*_background"]
    assert coerce({}, "1girl=surtr, solo=alone", "replace", "w") == \
        {"1girl": "surtr", "solo": "alone"}
    assert coerce({}, '{"a": "b"}', "replace", "w") == {"a": "b"}
    assert coerce(False, "yes", "force", "w") is True
    assert coerce(None, "0.5", "threshold", "w") == 0.5
    assert coerce(None, "true", "spaces", "w") is True
    assert coerce(None, "my-tagger", "model", "w") == "my-tagger"
    assert coerce(512, "", "size", "w") is MISSING
    assert coerce(512, 700, "size", "w") == 700  # typed JSON passes as it is
    for default, text in ((512, "big"), (0.1, "grey"), (False, "maybe"), ({}, "a, b")):
        with pytest.raises(Invalid):
            coerce(default, text, "x", "w")
