"""The files behind the API, against the real server on a socket (uvicorn, httpx): a
picture is served, moved or trashed only while it is still the picture that was
catalogued and compared, and never through a link leading out of the library folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from illudex.web import create_app
from illudex.web.background import BackgroundServer
from tests.web.conftest import CHANGE, SampleLibrary


@pytest.fixture
def api(sample: SampleLibrary) -> Iterator[httpx.Client]:
    with BackgroundServer(create_app(sample.dir)) as server, \
            httpx.Client(base_url=server.url.rstrip("/"), timeout=60) as client:
        yield client


def _picture(api: httpx.Client, name: str) -> dict:
    items = api.get("/api/images", params={"limit": 500}).json()["items"]
    return next(i for i in items if i["name"] == name)


def test_the_catalogued_picture_is_served(api: httpx.Client) -> None:
    picture = _picture(api, "art_01.png")
    response = api.get(f"/api/images/{picture['id']}/file")
    assert response.status_code == 200
    assert response.content == Path(picture["path"]).read_bytes()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("target", ["/etc/passwd", "catalog"])
def test_a_file_replaced_by_a_link_is_not_served(
    api: httpx.Client, sample: SampleLibrary, target: str
) -> None:
    picture = _picture(api, "art_01.png")
    path = Path(picture["path"])
    path.unlink()
    os.symlink(sample.dir / "catalog.db" if target == "catalog" else target, path)
    response = api.get(f"/api/images/{picture['id']}/file")
    assert response.status_code == 404
    assert b"root:" not in response.content and b"SQLite" not in response.content
    assert "symbolic link" in response.json()["error"]


def test_a_file_reached_through_a_linked_folder_outside_is_not_served(
    api: httpx.Client, sample: SampleLibrary, tmp_path: Path
) -> None:
    picture = _picture(api, "art_01.png")
    elsewhere = tmp_path / "elsewhere"
    shutil.move(sample.art / "pictures", elsewhere)  # same files, same size and mtime
    os.symlink(elsewhere, sample.art / "pictures")
    response = api.get(f"/api/images/{picture['id']}/file")
    assert response.status_code == 404
    assert "outside the library folders" in response.json()["error"]


def test_a_changed_file_is_not_served(api: httpx.Client) -> None:
    picture = _picture(api, "art_01.png")
    Path(picture["path"]).write_bytes(b"not what was catalogued")
    response = api.get(f"/api/images/{picture['id']}/file")
    assert response.status_code == 404
    assert "changed since" in response.json()["error"]


def _group_of(api: httpx.Client, name: str) -> dict:
    groups = api.get("/api/dupes").json()["groups"]
    return next(g for g in groups if any(f["name"] == name for f in g["files"]))


def test_resolve_skips_a_group_whose_keeper_was_deleted_after_the_report(
    api: httpx.Client
) -> None:
    group = _group_of(api, "art_00 copy.png")
    keep = next(f for f in group["files"] if f["id"] == group["keep"])
    others = [f for f in group["files"] if f["id"] != group["keep"]]
    os.unlink(keep["path"])  # after the report, before the click
    response = api.post("/api/dupes/resolve", headers=CHANGE,
                        json={"keep": keep["id"], "remove": [f["id"] for f in others]})
    assert response.status_code == 200
    data = response.json()
    assert data["done"] == [] and len(data["failed"]) == len(others)
    assert all("group skipped" in f["error"] for f in data["failed"])
    assert all(Path(f["path"]).exists() for f in others)


def test_apply_all_leaves_a_file_replaced_after_the_report(
    api: httpx.Client, sample: SampleLibrary
) -> None:
    plan = api.get("/api/dupes/plan").json()
    victim = plan["moves"][0]["from"]
    Path(victim).write_bytes(Path(sample.art / "pictures" / "art_03.png").read_bytes())
    response = api.post("/api/dupes/apply", headers=CHANGE, json={"plan": plan["plan"]})
    assert response.status_code == 200
    data = response.json()
    assert [f["path"] for f in data["failed"]] == [victim]
    assert "changed since it was compared" in data["failed"][0]["error"]
    assert len(data["done"]) == plan["files"] - 1
    assert Path(victim).read_bytes() == (sample.art / "pictures" / "art_03.png").read_bytes()


def test_no_thumbnail_is_made_through_a_link(
    api: httpx.Client, sample: SampleLibrary, tmp_path: Path
) -> None:
    picture = _picture(api, "art_02.png")
    path = Path(picture["path"])
    elsewhere = tmp_path / "elsewhere.png"
    shutil.copy2(path, elsewhere)  # a picture outside, with the same size and mtime
    path.unlink()
    os.symlink(elsewhere, path)
    response = api.get(f"/api/images/{picture['id']}/thumb", params={"size": 256})
    assert response.status_code == 422
    assert "changed since the last scan" in response.json()["error"]


def test_trashing_chosen_pictures_leaves_one_replaced_since(api: httpx.Client) -> None:
    """The gallery's "trash selected" is a file action too: a picture replaced by other
    content since the page was shown is left alone, with the reason."""
    changed, intact = _picture(api, "art_04.png"), _picture(api, "art_05.png")
    Path(changed["path"]).write_bytes(b"someone else's new picture")
    response = api.post("/api/images/files", headers=CHANGE,
                        json={"ids": [changed["id"], intact["id"]], "how": "trash"})
    assert response.status_code == 200
    data = response.json()
    assert [f["path"] for f in data["failed"]] == [changed["path"]]
    assert "changed since it was compared" in data["failed"][0]["error"]
    assert Path(changed["path"]).read_bytes() == b"someone else's new picture"
    assert not Path(intact["path"]).exists()
