"""History, undo of one action, the trash with restore, the change token, the apply-all
summary by group and the alignment of two copies: the REST API on a real library."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from illudex.library import Library
from tests.web.conftest import CHANGE, SampleLibrary


def groups(client: TestClient) -> list[dict]:
    return client.get("/api/dupes").json()["groups"]


def trash_one(client: TestClient, group: dict) -> dict:
    """Keep the group's keeper, trash one other file."""
    other = next(f for f in group["files"] if f["id"] != group["keep"])
    done = client.post("/api/dupes/resolve", headers=CHANGE,
                       json={"keep": group["keep"], "remove": [other["id"]]}).json()
    assert done["failed"] == [] and not Path(other["path"]).exists()
    return {**done, "file": other}


def test_undo_of_one_action_leaves_the_later_one_alone(client: TestClient) -> None:
    first, second = groups(client)[:2]
    a, b = trash_one(client, first), trash_one(client, second)
    listed = client.get("/api/history").json()
    ids = [x["id"] for x in listed["actions"]]
    assert ids[:2] == [b["action"], a["action"]]
    entry = listed["actions"][1]
    assert entry["state"] == "done" and entry["count"] >= 1
    assert entry["operations"][0]["src"] == a["file"]["path"]
    assert entry["operations"][0]["op"] == "move"

    # The older action, not the latest: A comes back, B stays in the trash.
    undone = client.post("/api/undo", headers=CHANGE, json={"action": a["action"]}).json()
    assert undone["action"] == a["action"] and undone["conflicts"] == []
    assert Path(a["file"]["path"]).exists()
    assert not Path(b["file"]["path"]).exists()
    states = {x["id"]: x["state"] for x in client.get("/api/history").json()["actions"]}
    assert states[a["action"]] == "undone" and states[b["action"]] == "done"


def test_trash_lists_pictures_and_restores_them_with_captions(
    client: TestClient, sample: SampleLibrary
) -> None:
    group = groups(client)[0]
    other = next(f for f in group["files"] if f["id"] != group["keep"])
    caption = Path(other["path"]).with_suffix(".txt")
    if not caption.exists():
        caption.write_text("1girl, solo", encoding="utf-8")
    text = caption.read_text(encoding="utf-8")
    done = client.post("/api/dupes/resolve", headers=CHANGE,
                       json={"keep": group["keep"], "remove": [other["id"]]}).json()
    assert not caption.exists()

    items = client.get("/api/trash").json()["items"]
    assert [i["original"] for i in items] == [other["path"]]
    item = items[0]
    assert item["action_id"] == done["action"] and item["captions"] == 1
    assert item["image"]["id"] == other["id"] and item["image"]["in_library"] is False
    assert sample.dir / "trash" in Path(item["path"]).parents

    restored = client.post("/api/trash/restore", headers=CHANGE,
                           json={"entries": [item["entry"]]}).json()
    assert restored["failed"] == [] and restored["done"][0]["to"] == other["path"]
    assert Path(other["path"]).exists() and caption.read_text(encoding="utf-8") == text
    assert client.get("/api/trash").json()["items"] == []
    assert client.get(f"/api/images/{other['id']}").json()["in_library"] is True

    # Putting back is an action of its own: undo sends the picture to the trash again.
    assert client.get("/api/history").json()["actions"][0]["kind"] == "restore"
    client.post("/api/undo", headers=CHANGE, json={"action": restored["action"]})
    assert not Path(other["path"]).exists()
    assert [i["original"] for i in client.get("/api/trash").json()["items"]] == [other["path"]]


def test_change_token_moves_when_the_cli_undoes(client: TestClient,
                                                 sample: SampleLibrary) -> None:
    trash_one(client, groups(client)[0])
    before = client.get("/api/changes").json()["token"]
    assert client.get("/api/changes").json()["token"] == before  # nothing changed
    with Library.open(sample.dir) as lib:  # what `illudex undo` does
        lib.history.undo()
    assert client.get("/api/changes").json()["token"] != before


def test_apply_all_summary_by_group_and_leaving_groups_out(client: TestClient) -> None:
    plan = client.get("/api/dupes/plan").json()
    review = plan["review"]
    assert len(review) == plan["groups"] and sum(len(g["remove"]) for g in review) == plan["files"]
    for g in review:
        assert g["reason"] and g["keep"]["id"] not in {f["id"] for f in g["remove"]}
        assert g["keep"]["thumb"].startswith("/api/images/")
    left = review[0]
    result = client.post("/api/dupes/apply", headers=CHANGE,
                         json={"plan": plan["plan"], "skip": [left["index"]]}).json()
    assert len(result["done"]) == plan["files"] - len(left["remove"])
    assert all(Path(f["path"]).exists() for f in left["remove"])
    assert not any(Path(f["path"]).exists() for g in review[1:] for f in g["remove"])
    # The group left out is still offered; nothing else is.
    again = client.get("/api/dupes/plan").json()
    assert [g["index"] for g in again["review"]] == [left["index"]]


def test_alignment_of_a_bordered_copy_leaves_the_border_out(reader: TestClient) -> None:
    group = next(g for g in reader.get("/api/dupes").json()["groups"]
                 if any("(bordered)" in f["name"] for f in g["files"]))
    bordered = next(f for f in group["files"] if "(bordered)" in f["name"])
    plain = next(f for f in group["files"] if f is not bordered)
    found = reader.get("/api/dupes/align", params={"a": bordered["id"], "b": plain["id"]})
    assert found.status_code == 200
    box_a, box_b = found.json()["a"], found.json()["b"]
    border_x, border_y = 16 / bordered["width"], 16 / bordered["height"]  # the sample's border
    assert abs(box_a[0] - border_x) < 0.01 and abs(box_a[1] - border_y) < 0.01
    assert abs(1 - box_a[2] - border_x) < 0.01 and abs(1 - box_a[3] - border_y) < 0.01
    assert box_b == [0.0, 0.0, 1.0, 1.0]
    assert reader.get("/api/dupes/align", params={"a": 999999, "b": plain["id"]}
                      ).status_code == 404


def test_marking_an_alternate_pair_holds_for_their_whole_groups(client: TestClient) -> None:
    report = client.get("/api/dupes").json()
    a, b = report["alternates"][0]
    grouped = {f["id"] for g in report["groups"] for f in g["files"]}
    assert a["id"] in grouped  # a group's keeper: another copy could bring the pair back
    pair = [a["id"], b["id"]]
    client.post("/api/dupes/mark", headers=CHANGE,
                json={"a": a["id"], "b": b["id"], "relation": "not_duplicate"})
    again = client.get("/api/dupes", params={"refresh": 1}).json()
    assert pair not in [[x["id"], y["id"]] for x, y in again["alternates"]]
    client.post("/api/dupes/unmark", headers=CHANGE, json={"a": a["id"], "b": b["id"]})
    back = client.get("/api/dupes", params={"refresh": 1}).json()
    assert pair in [[x["id"], y["id"]] for x, y in back["alternates"]]
