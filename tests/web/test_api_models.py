"""The model API against the real app (httpx) with tiny real ONNX models installed in
ILLUDEX_MODELS_DIR, and schemathesis over its operations on a real server."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from PIL import Image

from illudex.models.pool import shared
from illudex.web import create_app
from tests.analysers.test_embedder import CONFIG as EMBEDDER
from tests.analysers.test_embedder import build_net
from tests.fixtures.onnx_models import FEATURES, build_clip, build_tagger
from tests.web.conftest import BASE_URL, CHANGE, SampleLibrary
from tests.web.schemacheck import server_errors
from tests.web.test_bad_input_api import server  # noqa: F401  (the real uvicorn fixture)


@pytest.fixture(scope="module", autouse=True)
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tiny tagger and a tiny CLIP model in the models folder; no network, no user cache."""
    root = tmp_path_factory.mktemp("models")
    build_tagger(root / "models" / "tiny-tagger")
    build_clip(root / "models" / "tiny-clip")
    build_net(root / "models" / "tiny-net", {**EMBEDDER, "name": "tiny-net"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ILLUDEX_MODELS_DIR", str(root / "models"))
        mp.setenv("ILLUDEX_CACHE_DIR", str(root / "cache"))
        mp.setenv("HF_HOME", str(root / "hf"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.delenv("ILLUDEX_DEVICE", raising=False)
        shared().release_all()
        yield root / "models"
        shared().release_all()


@pytest.fixture(scope="module")
def api(shared_sample: SampleLibrary) -> Iterator[TestClient]:
    with TestClient(create_app(shared_sample.dir, upload_limit=2_000_000),
                    base_url=BASE_URL) as c:
        yield c


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def post_picture(api: TestClient, path: str, data: bytes, **params: object) -> httpx.Response:
    return api.post(path, params=params, content=data,
                    headers={**CHANGE, "Content-Type": "image/png"})


def test_models_lists_installed_and_loaded(api: TestClient) -> None:
    shared().release_all()
    body = api.get("/api/models").json()
    assert {"name": "tiny-tagger", "kind": "tagger"} in body["installed"]
    assert {"name": "tiny-clip", "kind": "clip"} in body["installed"]
    assert {"name": "tiny-net", "kind": "embedder"} in body["installed"]
    assert body["loaded"] == []
    assert post_picture(api, "/api/analyse", png((255, 0, 0)), model="tiny-tagger").is_success
    [loaded] = api.get("/api/models").json()["loaded"]
    assert loaded["name"] == "tiny-tagger" and loaded["device"] == "cpu"
    assert loaded["memory_bytes"] >= 0 and loaded["idle_s"] >= 0


def test_analyse_an_uploaded_picture(api: TestClient, shared_sample: SampleLibrary) -> None:
    before = _stored(shared_sample)
    r = post_picture(api, "/api/analyse", png((255, 0, 0)), model="tiny-tagger")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "tiny-tagger" and "embedding" not in body
    assert set(body["rating"]) == {"general", "sensitive", "questionable", "explicit"}
    assert "red_theme" in body["general"] and "blue_theme" not in body["general"]
    with_vector = post_picture(api, "/api/analyse", png((255, 0, 0)), model="tiny-tagger",
                               embedding="true").json()
    assert len(with_vector["embedding"]) == FEATURES
    assert _stored(shared_sample) == before  # nothing was stored


def test_analyse_a_catalogued_picture(api: TestClient) -> None:
    image_id = api.get("/api/images", params={"limit": 1}).json()["items"][0]["id"]
    r = api.post("/api/analyse", params={"model": "tiny-tagger", "id": image_id},
                 headers=CHANGE)
    assert r.status_code == 200, r.text
    assert "general" in r.json()


@pytest.mark.parametrize(("params", "data", "status", "words"), [
    ({"model": "tiny-tagger"}, b"", 400, "send a picture"),
    ({"model": "tiny-tagger", "id": 1}, png((1, 2, 3)), 400, "not both"),
    ({"model": "tiny-tagger"}, b"not a picture at all", 400, "not a usable picture"),
    ({"model": "tiny-tagger", "id": 10**9}, b"", 404, "no picture"),
    ({"model": "no-such-model"}, png((1, 2, 3)), 409, "unknown model"),
    ({"model": "../../etc"}, png((1, 2, 3)), 409, "not a path"),
    ({"model": "tiny-clip"}, png((1, 2, 3)), 409, "not a tagger"),
])
def test_bad_requests_get_a_reason(api: TestClient, params: dict[str, object], data: bytes,
                                   status: int, words: str) -> None:
    r = post_picture(api, "/api/analyse", data, **params)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_upload_limits_before_decoding(api: TestClient, png_bomb: Path) -> None:
    big = post_picture(api, "/api/analyse", b"\0" * 2_100_000, model="tiny-tagger")
    assert big.status_code == 413
    bomb = post_picture(api, "/api/embed/image", png_bomb.read_bytes(), model="tiny-clip")
    assert bomb.status_code == 400 and "pixels" in bomb.json()["error"]


def test_picture_and_text_vectors(api: TestClient) -> None:
    clip = post_picture(api, "/api/embed/image", png((255, 0, 0)), model="tiny-clip").json()
    text = api.post("/api/embed/text", params={"model": "tiny-clip"}, json={"text": "red"},
                    headers=CHANGE).json()
    assert clip["model"] == text["model"] == "tiny-clip"
    assert len(clip["vector"]) == len(text["vector"]) > 0
    tagger = post_picture(api, "/api/embed/image", png((0, 255, 0)), model="tiny-tagger")
    assert len(tagger.json()["vector"]) == FEATURES
    net = post_picture(api, "/api/embed/image", png((0, 255, 0)), model="tiny-net").json()
    assert net["model"] == "tiny-net" and len(net["vector"]) == 6  # its penultimate layer
    no_text = api.post("/api/embed/text", params={"model": "tiny-tagger"},
                       json={"text": "red"}, headers=CHANGE)
    assert no_text.status_code == 409


def test_the_api_is_in_the_openapi_schema(api: TestClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/models", "/api/analyse", "/api/embed/image", "/api/embed/text"):
        assert path in paths


def test_no_model_request_gets_a_server_error(server: str) -> None:  # noqa: F811
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json").include(
        path_regex=r"^/api/(models|analyse|embed/)")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    failures = server_errors(operations, 15)
    assert not failures, "\n\n".join(failures)


def _stored(sample: SampleLibrary) -> tuple[int, int, int]:
    conn = sqlite3.connect(sample.dir / "catalog.db")
    try:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("image_tags", "model_runs", "embeddings"))
    finally:
        conn.close()
