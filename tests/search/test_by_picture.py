"""Search by picture finds the obvious: a picture sent as it is (or halved and saved as
JPEG) finds itself and its duplicates first, and a picture's page lists similar ones,
in a small generated library with no model, through the real web API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from illudex.index import ExactIndex
from illudex.library import Library
from illudex.search.similar import OBVIOUS, relevant
from illudex.web import create_app

UPLOAD = {"X-Illudex": "1", "Content-Type": "application/octet-stream"}
# Pure red, green and blue have one HSL lightness: in lightness alone a flag of them is
# flat, and before colour counted it could not even find itself.
FLAG_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def flag(colours: list[tuple[int, int, int]], size: tuple[int, int] = (120, 80)) -> Image.Image:
    im = Image.new("RGB", size)
    band = size[0] // len(colours)
    for n, colour in enumerate(colours):
        im.paste(colour, (n * band, 0, size[0] if n == len(colours) - 1 else (n + 1) * band,
                          size[1]))
    return im


def halved_jpeg(im: Image.Image) -> bytes:
    out = io.BytesIO()
    im.convert("RGB").resize((im.width // 2, im.height // 2), Image.LANCZOS).save(
        out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Originals with two copies each (halved JPEG, re-saved with a border), and others."""
    from tests.conftest import draw_picture

    art = tmp_path_factory.mktemp("by-picture") / "art"
    art.mkdir()
    originals = {"flag": flag(FLAG_COLOURS),
                 "flag2": flag([(0, 0, 255), (255, 0, 0), (0, 255, 0)])}
    for seed in range(6):
        originals[f"drawn{seed}"] = draw_picture((160, 120), seed=seed)
    out: dict[str, list[Path]] = {}
    for name, im in originals.items():
        paths = [art / f"{name}.png", art / f"{name}_half.jpg", art / f"{name}_border.png"]
        im.save(paths[0])
        paths[1].write_bytes(halved_jpeg(im))
        bordered = Image.new("RGB", (im.width + 8, im.height + 8), (255, 255, 255))
        bordered.paste(im, (4, 4))
        bordered.save(paths[2])
        out[name] = paths
    for seed in range(10, 30):  # unrelated pictures: the background
        draw_picture((160, 120), seed=seed).save(art / f"other{seed}.png")
    return out


@pytest.fixture(scope="module")
def client(groups: dict[str, list[Path]]) -> Iterator[TestClient]:
    library = groups["flag"][0].parent.parent / "library"
    with Library.open(library) as lib:
        lib.workers = 1
        lib.scan([groups["flag"][0].parent])
    with TestClient(create_app(library), base_url="http://127.0.0.1:8765") as c:
        yield c


def upload(client: TestClient, data: bytes) -> list[str]:
    response = client.post("/api/search/upload", content=data, headers=UPLOAD)
    assert response.status_code == 200, response.text
    return [item["path"] for item in response.json()["items"]]


@pytest.mark.parametrize("name", ["flag", "flag2", "drawn0", "drawn3", "drawn5"])
def test_a_picture_sent_as_it_is_finds_itself_then_its_copies(
    client: TestClient, groups: dict[str, list[Path]], name: str
) -> None:
    found = upload(client, groups[name][0].read_bytes())
    assert found[0] == str(groups[name][0])
    assert set(map(str, groups[name])) <= set(found[:3])


@pytest.mark.parametrize("name", ["flag", "flag2", "drawn1", "drawn4"])
def test_a_picture_halved_as_jpeg_finds_its_group_first(
    client: TestClient, groups: dict[str, list[Path]], name: str
) -> None:
    with Image.open(groups[name][0]) as im:
        found = upload(client, halved_jpeg(im))
    assert set(map(str, groups[name])) == set(found[:3])


def test_every_picture_with_duplicates_has_similar_ones(
    client: TestClient, groups: dict[str, list[Path]]
) -> None:
    ids = {item["path"]: item["id"]
           for item in client.get("/api/images?limit=500").json()["items"]}
    for paths in groups.values():
        for path in paths:
            response = client.get(f"/api/images/{ids[str(path)]}/similar")
            assert response.status_code == 200, response.text
            similar = {item["path"] for item in response.json()["items"]}
            assert set(map(str, paths)) - {str(path)} <= similar, path


def test_the_cut_off_never_trims_an_obvious_match() -> None:
    # A collection whose scores against the query spread so wide that the background rule
    # would put the bar above 1: the query's own copy must still be found.
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 3)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = ExactIndex(3)
    index.add(np.arange(300, dtype=np.int64), vectors)
    query = vectors[7]
    kept = relevant(index, query, index.search(query, 300))
    assert kept and kept[0][0] == 7
    assert all(score >= OBVIOUS for _, score in kept) or len(kept) < 300
    # A cut-off the person asks for still holds.
    assert relevant(index, query, index.search(query, 300), min_score=1.01) == []


@pytest.mark.parametrize("name", ["flag", "drawn2"])
def test_an_upload_and_its_catalogued_copy_keep_the_same_similar_pictures(
    client: TestClient, groups: dict[str, list[Path]], name: str
) -> None:
    # One relevance rule for every likeness search: the same picture, named by id or sent
    # as bytes, is cut off at the same place (its exact copy comes first when uploaded).
    with Library.open(groups[name][0].parent.parent / "library") as lib:
        own = lib.image_at(groups[name][0]).id
        by_id = lib.similarity.like_picture(own, limit=500)
        by_upload = lib.similarity.like_upload(groups[name][0].read_bytes(), limit=500)
    assert by_upload[0] == (own, 1.0)
    assert [i for i, _ in by_upload[1:]] == [i for i, _ in by_id]
    assert len(by_id) >= 2  # its two copies at least
