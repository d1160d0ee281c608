"""The REST API, through httpx against the real app on a real scanned library."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from illudex.library import Library
from illudex.web import InsecureBindError, create_app
from tests.web.conftest import BASE_URL, CHANGE, SampleLibrary

TOKEN = "s3cret-token-for-tests"


def all_items(client: TestClient, q: str = "") -> list[dict]:
    items, offset = [], 0
    while True:
        page = client.get("/api/images", params={"q": q, "offset": offset, "limit": 7}).json()
        items += page["items"]
        offset += 7
        if offset >= page["total"]:
            return items


# --- pictures --------------------------------------------------------------------------


def test_listing_pages_through_every_picture(
    reader: TestClient, shared_sample: SampleLibrary
) -> None:
    with Library.open(shared_sample.dir) as lib:
        expected = set(lib.image_ids([shared_sample.art]))
    first = reader.get("/api/images", params={"limit": 7}).json()
    items = all_items(reader)
    assert first["total"] == len(expected) == len(items)
    assert {i["id"] for i in items} == expected
    assert all(os.path.isfile(i["path"]) and i["width"] > 0 for i in items)


def test_listing_with_a_query_and_its_errors(reader: TestClient) -> None:
    top = reader.get("/api/tags").json()["tags"][0]  # from the sample's caption files
    tagged = all_items(reader, top["name"])
    assert len(tagged) == top["count"] > 1
    for item in tagged:
        names = {t["name"] for t in reader.get(f"/api/images/{item['id']}").json()["tags"]}
        assert top["name"] in names
    bad = reader.get("/api/images", params={"q": f"({top['name']}"})
    assert bad.status_code == 400 and "query" in bad.json()["error"]
    assert reader.get("/api/images", params={"limit": 100000}).status_code == 422


def test_thumbnail_is_a_cached_webp(client: TestClient, sample: SampleLibrary) -> None:
    item = all_items(client)[0]
    response = client.get(item["thumb"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"
    with Image.open(io.BytesIO(response.content)) as im:
        assert max(im.size) == 256
        assert im.size[0] / im.size[1] == pytest.approx(item["width"] / item["height"], rel=0.02)
    cached = list((sample.dir / "thumbs" / "256").rglob("*.webp"))
    assert [p.stem for p in cached] == [item["digest"]]
    small = client.get(f"/api/images/{item['id']}/thumb", params={"size": 128})
    with Image.open(io.BytesIO(small.content)) as im:
        assert max(im.size) == 128
    assert client.get(f"/api/images/{item['id']}/thumb", params={"size": 300}).status_code == 400


def test_file_by_id_is_the_file_itself(reader: TestClient) -> None:
    item = next(i for i in all_items(reader) if i["name"].endswith(".png"))
    response = reader.get(item["file"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == Path(item["path"]).read_bytes()


def test_unknown_ids_are_404(reader: TestClient) -> None:
    for url in ("/api/images/999999", "/api/images/999999/thumb", "/api/images/999999/file",
                "/api/images/999999/dupes"):
        response = reader.get(url)
        assert response.status_code == 404, url
        assert "999999" in response.json()["error"]
    assert reader.get("/api/images/not-a-number").status_code == 422


@pytest.mark.parametrize("url", [
    "/api/images/..%2f..%2f..%2f..%2fetc%2fpasswd/file",
    "/api/images/%2e%2e/file",
    "/api/images/1/file?path=/etc/passwd",
    "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2fweb%2fapp.py",
    "/api/images//etc/passwd/file",
])
def test_no_path_from_a_request_reaches_the_file_system(reader: TestClient, url: str) -> None:
    response = reader.get(url)
    assert b"root:" not in response.content
    assert b"create_app" not in response.content
    if "?path=" in url:  # the id decides, the query is ignored
        assert response.status_code in (200, 404)
        assert response.headers.get("content-type", "").startswith(("image/", "application/json"))
    else:
        assert response.status_code in (404, 422)


def test_folders_named_in_requests_are_checked(
    reader: TestClient, shared_sample: SampleLibrary
) -> None:
    cases = ((["relative/folder"], "full path"), ([str(shared_sample.dir)], "library"),
             (["/no/such/folder"], "no such file or folder"), (["/tmp\x00x"], "not a folder"))
    for paths, expected in cases:
        response = reader.post("/api/jobs", json={"kind": "scan", "paths": paths}, headers=CHANGE)
        assert response.status_code == 400, paths
        assert expected in response.json()["error"]


# --- security --------------------------------------------------------------------------


def test_token_is_required_for_everything(shared_sample: SampleLibrary) -> None:
    app = create_app(shared_sample.dir, token=TOKEN)
    with TestClient(app, base_url=BASE_URL) as c:
        for url in ("/", "/api/images", "/static/app.css", "/api/images/1/thumb", "/docs",
                    "/openapi.json"):
            response = c.get(url)
            assert response.status_code == 401, url
            assert "token" in response.text
        assert c.get("/api/images", headers={"Authorization": "Bearer wrong-token"}
                     ).status_code == 401
        assert c.get("/api/images", headers={"Authorization": f"Bearer {TOKEN}"}
                     ).status_code == 200
        assert c.get("/api/images", headers={"X-Illudex-Token": TOKEN}).status_code == 200
        assert c.get(f"/?token=wrong-{TOKEN}", follow_redirects=False).status_code == 401
        landing = c.get(f"/?token={TOKEN}", follow_redirects=False)
        assert landing.status_code == 303 and landing.headers["location"] == "/"
        assert "HttpOnly" in landing.headers["set-cookie"]
        assert "SameSite=Strict" in landing.headers["set-cookie"]
        # The reader keeps the cookie: pages and API now answer without the header.
        assert c.get("/").status_code == 200
        assert c.get("/api/images").status_code == 200


def test_only_loopback_without_a_token(shared_sample: SampleLibrary) -> None:
    with pytest.raises(InsecureBindError, match="--token"):
        create_app(shared_sample.dir, host="0.0.0.0")
    create_app(shared_sample.dir, host="0.0.0.0", token=TOKEN)  # allowed with a token
    with TestClient(create_app(shared_sample.dir), base_url=BASE_URL) as c:
        # A page elsewhere that rebinds its DNS name to 127.0.0.1 is not answered.
        response = c.get("/api/images", headers={"Host": "evil.example:8765"})
        assert response.status_code == 421
        assert c.get("/api/images", headers={"Host": "localhost:8765"}).status_code == 200


def test_changes_are_refused_from_other_sites(reader: TestClient) -> None:
    body = {"action": None}
    refused = [
        ({}, "X-Illudex"),
        ({**CHANGE, "Origin": "http://evil.example"}, "Origin"),
        ({**CHANGE, "Origin": "null"}, "Origin"),
        ({**CHANGE, "Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
    ]
    for headers, reason in refused:
        response = reader.post("/api/undo", json=body, headers=headers)
        assert response.status_code == 403, headers
        assert reason in response.json()["error"]
    ok = reader.post("/api/undo", json=body, headers={**CHANGE, "Origin": BASE_URL,
                                                      "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200
    form = reader.post("/api/undo", content=b"action=1", headers={
        **CHANGE, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    text = reader.post("/api/undo", content=b"{}", headers={**CHANGE, "Content-Type": "text/plain"})
    assert text.status_code == 415


def test_bodies_over_the_limit_are_refused(shared_sample: SampleLibrary) -> None:
    with TestClient(create_app(shared_sample.dir, upload_limit=2000), base_url=BASE_URL) as c:
        big = c.post("/api/search/upload", content=b"x" * 5000,
                     headers={**CHANGE, "Content-Type": "image/png"})
        assert big.status_code == 413 and "limit" in big.json()["error"]

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"x" * 1000

        streamed = c.post("/api/search/upload", content=chunks(),
                          headers={**CHANGE, "Content-Type": "image/png"})
        assert streamed.status_code in (411, 413)
        huge_json = c.post("/api/tags/batch", content=json.dumps({"ids": [1] * 2_000_000}),
                           headers={**CHANGE, "Content-Type": "application/json"})
        assert huge_json.status_code == 413
        wrong_kind = c.post("/api/search/upload", content=b"x" * 100,
                            headers={**CHANGE, "Content-Type": "text/html"})
        assert wrong_kind.status_code == 415


def test_openapi_docs_list_the_api(reader: TestClient) -> None:
    spec = reader.get("/openapi.json").json()
    for path in ("/api/images", "/api/images/{image_id}/thumb", "/api/dupes",
                 "/api/dupes/resolve", "/api/jobs", "/api/jobs/{job_id}/events",
                 "/api/tags/complete", "/api/clusters"):
        assert path in spec["paths"], path
    assert reader.get("/docs").status_code == 200


# --- duplicates --------------------------------------------------------------------------


def groups(client: TestClient, refresh: bool = False) -> list[dict]:
    return client.get("/api/dupes", params={"refresh": int(refresh)}).json()["groups"]


def names(group: dict) -> set[str]:
    return {f["name"] for f in group["files"]}


def test_dupes_mark_resolve_undo_round_trip(client: TestClient, sample: SampleLibrary) -> None:
    found = groups(client)
    exact = next(g for g in found if {"art_00.png", "art_00 copy.png"} <= names(g))
    keep = next(f for f in exact["files"] if f["name"] == "art_00.png")
    copy = next(f for f in exact["files"] if f["name"] == "art_00 copy.png")

    # Not one group: refused before anything moves.
    other = next(g for g in found if g is not exact)
    refused = client.post("/api/dupes/resolve", headers=CHANGE, json={
        "keep": keep["id"], "remove": [other["files"][0]["id"]]})
    assert refused.status_code == 409

    # A decision: two near duplicates marked as alternates are no longer grouped.
    pair = next(g for g in found if len(g["files"]) == 2 and g["relation"] == "near")
    a, b = pair["files"]
    marked = client.post("/api/dupes/mark", headers=CHANGE,
                         json={"a": a["id"], "b": b["id"], "relation": "alternate"})
    assert marked.status_code == 200
    again = client.get("/api/dupes", params={"refresh": 1}).json()
    assert not any({a["id"], b["id"]} <= {f["id"] for f in g["files"]} for g in again["groups"])
    assert any({a["id"], b["id"]} == {x["id"], y["id"]} for x, y in again["alternates"])

    # Resolve: the copy goes to the trash, for real.
    result = client.post("/api/dupes/resolve", headers=CHANGE,
                         json={"keep": keep["id"], "remove": [copy["id"]]}).json()
    assert result["failed"] == [] and len(result["done"]) == 1
    trashed = Path(result["done"][0]["to"])
    assert not Path(copy["path"]).exists()
    assert trashed.is_file() and sample.dir / "trash" in trashed.parents
    assert Path(keep["path"]).is_file()
    assert client.get(f"/api/images/{copy['id']}").json()["in_library"] is False

    # Undo: it is back where it was, byte for byte.
    undone = client.post("/api/undo", headers=CHANGE, json={"action": result["action"]}).json()
    assert undone["restored"] >= 1 and undone["conflicts"] == []
    assert Path(copy["path"]).read_bytes() == Path(keep["path"]).read_bytes()
    assert not trashed.exists()
    assert client.get(f"/api/images/{copy['id']}").json()["in_library"] is True


def test_apply_all_shows_the_plan_first_and_undoes(client: TestClient) -> None:
    found = groups(client)
    plan = client.get("/api/dupes/plan").json()
    expected = sum(len(g["files"]) - 1 for g in found)
    assert plan["files"] == expected > 0 and plan["bytes"] > 0
    stale = client.post("/api/dupes/apply", headers=CHANGE, json={"plan": "0" * 16})
    assert stale.status_code == 409
    result = client.post("/api/dupes/apply", headers=CHANGE, json={"plan": plan["plan"]}).json()
    assert len(result["done"]) == expected and result["failed"] == []
    moved = [Path(m["from"]) for m in plan["moves"]]
    assert not any(p.exists() for p in moved)
    assert all(Path(m["keep"]).exists() for m in plan["moves"])
    # Applied groups are not offered again.
    assert client.get("/api/dupes/plan").json()["files"] == 0
    client.post("/api/undo", headers=CHANGE, json={"action": result["action"]})
    assert all(p.exists() for p in moved)


def test_picture_page_lists_its_duplicates(reader: TestClient) -> None:
    exact = next(g for g in groups(reader) if "art_00 copy.png" in names(g))
    keep = next(f for f in exact["files"] if f["id"] == exact["keep"])
    data = reader.get(f"/api/images/{keep['id']}/dupes").json()
    listed = {f["id"] for g in data["duplicates"] for f in g["files"]}
    assert listed == {f["id"] for f in exact["files"]} - {keep["id"]}


# --- tags --------------------------------------------------------------------------------


def test_batch_tag_edit_and_undo(client: TestClient) -> None:
    ids = [i["id"] for i in all_items(client)[:3]]
    done = client.post("/api/tags/batch", headers=CHANGE,
                       json={"ids": ids, "add": ["web_test_tag"]}).json()
    assert done["images"] == 3 and len(done["edits"]) == 1
    for image_id in ids:
        tags = client.get(f"/api/images/{image_id}").json()["tags"]
        assert {"name": "web_test_tag", "source": "user"}.items() <= next(
            t for t in tags if t["name"] == "web_test_tag").items()
    listed = {t["name"]: t["count"] for t in client.get("/api/tags").json()["tags"]}
    assert listed["web_test_tag"] == 3
    client.post("/api/tags/undo", headers=CHANGE, json={"edit": done["edits"][0]})
    assert all("web_test_tag" not in {t["name"] for t in
                                      client.get(f"/api/images/{i}").json()["tags"]} for i in ids)
    assert client.post("/api/tags/batch", headers=CHANGE, json={"ids": [999999], "add": ["x"]}
                       ).status_code == 404


def test_autocomplete_shows_aliases(client: TestClient) -> None:
    assert client.post("/api/tags/aliases", headers=CHANGE,
                       json={"alias": "longhair", "tag": "long_hair"}).status_code == 200
    assert {"alias": "longhair", "tag": "long_hair"} in client.get("/api/tags/aliases").json()[
        "aliases"]
    matches = client.get("/api/tags/complete", params={"q": "longh"}).json()["matches"]
    assert matches[0]["name"] == "long_hair"
    via_alias = client.get("/api/tags/complete", params={"q": "longhair"}).json()["matches"]
    assert via_alias[0]["name"] == "long_hair" and via_alias[0]["via"] == "alias"


# --- jobs --------------------------------------------------------------------------------


def read_events(client: TestClient, job_id: int) -> list[dict]:
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: {}":
                events.append(json.loads(line[6:]))
            if line.startswith("event: end"):
                break
    return events


def test_scan_job_streams_progress_and_errors(client: TestClient, sample: SampleLibrary) -> None:
    new = sample.art / "new"
    new.mkdir()
    for n in range(3):
        Image.new("RGB", (64 + n, 48), (n * 60, 90, 200)).save(new / f"fresh_{n}.png")
    (new / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    started = client.post("/api/jobs", headers=CHANGE, json={"kind": "scan", "paths": [str(new)]})
    assert started.status_code == 202
    events = read_events(client, started.json()["id"])
    last = events[-1]
    assert last["state"] == "done", last
    assert last["summary"]["added"] == 3
    errors = [e for ev in events for e in ev["errors"]]
    assert [Path(e["path"]).name for e in errors] == ["broken.jpg"]
    assert errors[0]["error"]
    assert any(ev["state"] == "running" for ev in events) or len(events) >= 1
    names_now = {i["name"] for i in all_items(client)}
    assert {"fresh_0.png", "fresh_1.png", "fresh_2.png"} <= names_now
    assert client.get("/api/jobs/9999").status_code == 404


# --- similarity, words, pictures sent -----------------------------------------------------


def test_similar_pictures_and_search_by_a_sent_picture(reader: TestClient) -> None:
    items = all_items(reader)
    original = next(i for i in items if i["name"] == "art_02.png")
    similar = reader.get(f"/api/images/{original['id']}/similar").json()["items"]
    assert similar and original["id"] not in {i["id"] for i in similar}
    assert "art_02-blur.webp" in {i["name"] for i in similar[:3]}
    assert all(0 <= i["score"] <= 1 for i in similar)
    sent = reader.post("/api/search/upload", content=Path(original["path"]).read_bytes(),
                       headers={**CHANGE, "Content-Type": "image/png"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["items"][0]["digest"] == original["digest"]
    empty = reader.post("/api/search/upload", content=b"", headers={
        **CHANGE, "Content-Type": "image/png"})
    assert empty.status_code == 400
    words = reader.get("/api/search/text", params={"q": "a girl with a cat"})
    assert words.status_code == 400 and "embed" in words.json()["error"]


# --- clusters ----------------------------------------------------------------------------


def test_cluster_job_result_and_export(client: TestClient, tmp_path: Path) -> None:
    assert "kmeans" in client.get("/api/clusters/methods").json()["methods"]
    bad = client.post("/api/clusters", headers=CHANGE, json={"method": "optics", "k": 3})
    assert bad.status_code == 400 and "k" in bad.json()["error"]
    started = client.post("/api/clusters", headers=CHANGE, json={"k": 2, "map": "pca"})
    assert started.status_code == 202
    events = read_events(client, started.json()["id"])
    assert events[-1]["state"] == "done", events[-1]
    result = client.get(f"/api/clusters/{started.json()['id']}").json()
    assert len(result["clusters"]) == 2
    for cluster in result["clusters"]:
        assert cluster["label"] and cluster["size"] == len(cluster["image_ids"])
        assert [p["id"] for p in cluster["preview"]] == cluster["image_ids"][:24]
    assert {p["image_id"] for p in result["map"]["points"]} == {
        i for c in result["clusters"] for i in c["image_ids"]}
    dest = tmp_path / "exported"
    exported = client.post(f"/api/clusters/{started.json()['id']}/export", headers=CHANGE,
                           json={"dest": str(dest), "mode": "copy"}).json()
    folders = sorted(p for p in dest.iterdir() if p.is_dir())
    assert len(folders) == 2
    copied = sum(len(list(f.glob("*.png"))) for f in folders)
    assert copied == sum(c["size"] for c in result["clusters"])
    client.post("/api/undo", headers=CHANGE, json={"action": exported["action"]})
    assert not list(dest.rglob("*.png"))
