"""Tag management through the REST API: changes that retag pictures ask first (409 with
the count), unknown targets are refused, rows can be deleted, tags renamed, merged,
deleted and given a category, captions rewritten; everything undoable."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.web.conftest import CHANGE, SampleLibrary


def post(client: TestClient, url: str, body: dict) -> tuple[int, dict]:
    response = client.post(url, headers=CHANGE, json=body)
    return response.status_code, response.json()


def top_tags(client: TestClient) -> list[dict]:
    return client.get("/api/tags").json()["tags"]


def names_of(client: TestClient, image_id: int) -> set[str]:
    return {t["name"] for t in client.get(f"/api/images/{image_id}").json()["tags"]}


def test_alias_that_merges_a_tag_asks_first_and_undoes(client: TestClient) -> None:
    first, second = top_tags(client)[:2]
    body = {"alias": first["name"], "tag": second["name"]}
    status, data = post(client, "/api/tags/aliases", body)
    assert status == 409 and data["pictures"] == first["count"] > 0
    assert f"{first['count']} pictures' tags would change" in data["error"]
    assert first["name"] in {t["name"] for t in top_tags(client)}  # nothing happened yet

    status, data = post(client, "/api/tags/aliases",
                        {"alias": first["name"], "tag": second["name"], "confirm": True})
    assert status == 200 and data["action"] is not None
    assert first["name"] not in {t["name"] for t in top_tags(client)}
    assert post(client, "/api/undo", {"action": data["action"]})[0] == 200
    assert first["name"] in {t["name"] for t in top_tags(client)}


def test_alias_replacing_another_asks_and_unknown_target_is_refused(client: TestClient) -> None:
    first, second = top_tags(client)[:2]
    assert post(client, "/api/tags/aliases", {"alias": "zz_alias", "tag": first["name"]})[0] == 200
    status, data = post(client, "/api/tags/aliases", {"alias": "zz_alias", "tag": second["name"]})
    assert status == 409 and data["replaces"] == f"zz_alias → {first['name']}"
    status, data = post(client, "/api/tags/aliases", {"alias": "zzz", "tag": "no_such_tag_xyz"})
    assert status == 400 and "no_such_tag_xyz" in data["error"]
    assert "zzz" not in {a["alias"] for a in client.get("/api/tags/aliases").json()["aliases"]}
    assert "no_such_tag_xyz" not in {t["name"] for t in top_tags(client)}


def test_implication_asks_with_the_count_and_rows_can_be_deleted(client: TestClient) -> None:
    tags = top_tags(client)
    a, b = tags[0]["name"], tags[-1]["name"]
    status, data = post(client, "/api/tags/implications", {"tag": a, "implied": b})
    assert status == 409 and data["pictures"] > 0
    assert post(client, "/api/tags/implications", {"tag": a, "implied": "nope_xyz"})[0] == 400
    assert post(client, "/api/tags/implications",
                {"tag": a, "implied": b, "confirm": True})[0] == 200
    assert {"tag": a, "implied": b} in client.get("/api/tags/implications").json()["implications"]
    assert post(client, "/api/tags/implications/delete", {"tag": a, "implied": b})[0] == 200
    assert client.get("/api/tags/implications").json()["implications"] == []

    assert post(client, "/api/tags/translations", {"tag": a, "lang": "ja", "name": "x語"})[0] == 200
    assert post(client, "/api/tags/translations", {"tag": "nope_xyz", "lang": "ja",
                                                   "name": "y"})[0] == 400
    assert post(client, "/api/tags/translations/delete",
                {"tag": a, "lang": "ja", "name": "x語"})[0] == 200
    assert client.get("/api/tags/translations").json()["translations"] == []
    assert post(client, "/api/tags/aliases", {"alias": "tmp_alias", "tag": a})[0] == 200
    assert post(client, "/api/tags/aliases/delete", {"alias": "tmp_alias"})[0] == 200
    assert post(client, "/api/tags/aliases/delete", {"alias": "tmp_alias"})[0] == 404


def test_rename_writes_captions_and_undo_puts_both_back(
    client: TestClient, sample: SampleLibrary
) -> None:
    tag = top_tags(client)[0]
    status, data = post(client, "/api/tags/change", {"name": tag["name"], "new": "renamed_tag"})
    assert status == 409 and data["pictures"] == tag["count"]
    status, data = post(client, "/api/tags/change",
                        {"name": tag["name"], "new": "renamed_tag", "confirm": True,
                         "captions": True})
    assert status == 200 and data["captions"] >= tag["count"] and data["captions_action"]
    captions = list(Path(sample.art).rglob("*.txt"))
    renamed = [p for p in captions if "renamed tag" in p.read_text(encoding="utf-8")]
    assert len(renamed) == tag["count"]
    assert {"renamed_tag"} <= {t["name"] for t in top_tags(client)}
    # The old name still finds the pictures (it stays as an alias).
    assert client.get("/api/images", params={"q": tag["name"]}).json()["total"] == tag["count"]

    for action in (data["captions_action"], data["action"]):
        assert post(client, "/api/undo", {"action": action})[0] == 200
    names = {t["name"] for t in top_tags(client)}
    assert tag["name"] in names and "renamed_tag" not in names
    assert not [p for p in captions if "renamed tag" in p.read_text(encoding="utf-8")]


def test_merge_delete_category_and_substring_filter(client: TestClient) -> None:
    tags = top_tags(client)
    keep, gone = tags[0], tags[1]
    status, data = post(client, "/api/tags/change",
                        {"name": gone["name"], "into": keep["name"], "confirm": True})
    assert status == 200 and data["pictures"] == gone["count"]
    assert gone["name"] not in {t["name"] for t in top_tags(client)}
    assert post(client, "/api/undo", {"action": data["action"]})[0] == 200

    status, data = post(client, "/api/tags/change", {"name": keep["name"], "confirm": True})
    assert status == 200
    assert keep["name"] not in {t["name"] for t in top_tags(client)}
    assert post(client, "/api/undo", {"action": data["action"]})[0] == 200
    assert keep["name"] in {t["name"] for t in top_tags(client)}
    assert post(client, "/api/tags/change", {"name": "nope_xyz"})[0] == 404

    assert post(client, "/api/tags/category", {"name": keep["name"], "category": "meta"}
                )[1]["category"] == "meta"
    assert post(client, "/api/tags/category", {"name": keep["name"], "category": "bogus"}
                )[0] == 400

    middle = keep["name"][1:-1]  # neither its start nor its end
    found = client.get("/api/tags", params={"contains": middle}).json()["tags"]
    assert keep["name"] in {t["name"] for t in found}
    assert all(middle in t["name"] for t in found)


def test_batch_edit_can_write_captions(client: TestClient, sample: SampleLibrary) -> None:
    item = client.get("/api/images", params={"limit": 1}).json()["items"][0]
    status, data = post(client, "/api/tags/batch",
                        {"ids": [item["id"]], "add": ["written_tag"], "captions": True})
    assert status == 200 and data["captions"] == 1 and data["captions_action"]
    txt = Path(item["path"]).with_suffix(".txt")
    assert "written tag" in txt.read_text(encoding="utf-8")
    status, data = post(client, "/api/tags/batch", {"ids": [item["id"]], "add": ["other_tag"]})
    assert data["captions"] == 0 and "other tag" not in txt.read_text(encoding="utf-8")
    assert "other_tag" in names_of(client, item["id"])
