"""POST /api/dupes/keeper: a keeper the user picks is shown at once and remembered (by
content) by every later duplicate report, through httpx against the real app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from illudex.library import Library
from tests.web.conftest import CHANGE, SampleLibrary


def test_a_chosen_keeper_stays_the_keeper(client: TestClient, sample: SampleLibrary) -> None:
    found = client.get("/api/dupes").json()["groups"]
    group = next(g for g in found if len(g["files"]) >= 2 and g["relation"] == "near")
    other = next(f for f in group["files"] if f["id"] != group["keep"])

    chosen = client.post("/api/dupes/keeper", headers=CHANGE, json={"keep": other["id"]})
    assert chosen.status_code == 200
    assert chosen.json() == {"keep": other["id"], "group": group["index"]}
    shown = client.get("/api/dupes").json()["groups"][group["index"]]
    assert (shown["keep"], shown["reason"]) == (other["id"], "chosen by you")

    # Remembered: a fresh report (and another process) keeps it too.
    again = client.get("/api/dupes", params={"refresh": 1}).json()["groups"]
    holding = next(g for g in again if other["id"] in {f["id"] for f in g["files"]})
    assert (holding["keep"], holding["reason"]) == (other["id"], "chosen by you")
    with Library.open(sample.dir) as lib:
        report = lib.dupes.find(lib.folders())
        assert any(g.keep.id == other["id"] for g in report.groups)

    # The plan for "apply all" follows the choice.
    plan = client.get("/api/dupes/plan").json()
    assert any(m["keep"] == other["path"] for m in plan["moves"])


def test_keeper_errors(client: TestClient) -> None:
    assert client.post("/api/dupes/keeper", headers=CHANGE, json={"keep": 999999}).status_code \
        == 404
    assert client.post("/api/dupes/keeper", headers=CHANGE, json={}).status_code == 422
    # A change without the web UI's header is refused (cross-site guard).
    found = client.get("/api/dupes").json()["groups"]
    assert client.post("/api/dupes/keeper", json={"keep": found[0]["keep"]}).status_code == 403
