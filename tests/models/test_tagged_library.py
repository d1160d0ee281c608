"""A library tagged for real (a tiny WD-layout model through `illudex tag`), then used the
way the README says: `rating:` search, search by an uploaded picture and `text:` search
from another folder, models in `ILLUDEX_MODELS_DIR/NAME/`, and a device that is not there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from illudex.cli import app
from illudex.library import Library
from illudex.models.registry import MODELS_DIR_ENV, resolve
from illudex.web import create_app
from tests.fixtures.onnx_models import build_clip, build_tagger

UPLOAD = {"X-Illudex": "1", "Content-Type": "application/octet-stream"}


def illudex(*args: str | Path) -> dict:
    result = CliRunner().invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def art(tmp_path: Path, make_picture) -> Path:
    folder = tmp_path / "art"
    for seed in range(4):
        make_picture(folder / f"p{seed}.png", size=(64, 64), seed=seed)
    return folder


def test_rating_search_finds_what_the_tagger_rated(tmp_path: Path, art: Path) -> None:
    tagger = build_tagger(tmp_path / "tiny-tagger")  # rates every picture general
    library = tmp_path / "lib"
    illudex("tag", art, "--model", tagger, "--library", library)
    for query in ("rating:general", "rating:g", "rating:general|sensitive"):
        found = illudex("search", query, "--library", library)
        assert found["total"] == 4, query
    assert illudex("search", "rating:explicit", "--library", library)["total"] == 0
    assert illudex("search", "solo -rating:general", "--library", library)["total"] == 0


def test_search_by_upload_with_a_model_given_as_a_folder(
    tmp_path: Path, art: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_tagger(tmp_path / "work" / "my-tagger")
    monkeypatch.chdir(tmp_path / "work")
    library = tmp_path / "lib"
    illudex("tag", art, "--model", "./my-tagger/", "--library", library)
    monkeypatch.chdir(tmp_path)  # the server starts elsewhere
    with TestClient(create_app(library), base_url="http://127.0.0.1:8765") as client:
        response = client.post("/api/search/upload", content=(art / "p1.png").read_bytes(),
                               headers=UPLOAD)
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["path"] == str(art / "p1.png")


def test_embed_stores_an_absolute_model_path(
    tmp_path: Path, art: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_clip(tmp_path / "work" / "models" / "x")
    monkeypatch.chdir(tmp_path / "work")
    library = tmp_path / "lib"
    illudex("embed", art, "--model", "models/x", "--library", library)
    monkeypatch.chdir(tmp_path)
    found = illudex("search", 'text:"red"', "--library", library)
    assert "results" in found
    with Library.open(library) as lib:
        assert lib.settings.get("clip_model") == str(tmp_path / "work" / "models" / "x")


def test_models_dir_holds_models_of_any_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    build_tagger(models / "my-own-tagger")
    monkeypatch.setenv(MODELS_DIR_ENV, str(models))
    spec = resolve("my-own-tagger")
    assert spec.local == (models / "my-own-tagger").resolve()
    assert spec.kind == "tagger" and spec.name == "my-own-tagger"


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(),
                    reason="this onnxruntime has CUDA")
def test_a_missing_gpu_is_one_line(tmp_path: Path, art: Path) -> None:
    tagger = build_tagger(tmp_path / "tiny-tagger")
    result = CliRunner().invoke(app, ["tag", str(art), "--model", str(tagger), "--device",
                                      "cuda", "--library", str(tmp_path / "lib")])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "no GPU providers" in result.output and "--device cpu" in result.output
    assert "Traceback" not in result.output and os.linesep * 3 not in result.output
