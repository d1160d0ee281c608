"""What the model steps found is kept in the catalog (issue 15): a later pipeline, even
with its dataset cache gone, runs no model, and search finds pictures by it (`faces:1`,
`class:illustration`) from the CLI and the web API. Real library, real ONNX sessions on
the tiny deepghs-layout models, real CLI and FastAPI app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from illudex.catalog import modelresults
from illudex.cli import app
from illudex.dataset.cache import Cache
from illudex.library import Library
from illudex.search import QuerySyntaxError, parse
from illudex.web import create_app
from tests.dataset.test_modelsteps import faces, picture, run  # noqa: F401
from tests.fixtures.deepghs_models import ANIME_CLASSES, build_classifier, build_detector
from tests.web.conftest import BASE_URL


def names(library: Library, query: str) -> list[str]:
    hits = library.search(query, limit=100)
    return sorted(Path(path).stem for _id, path, _score in hits.results)


def test_detections_are_kept_and_searchable(library: Library, faces: Path,  # noqa: F811
                                            tmp_path: Path) -> None:
    model = build_detector(tmp_path / "models" / "det.onnx", size=128)
    run(library, faces, tmp_path / "out", [{"use": "face-count", "model": str(model)}])
    one = library.image_at(faces / "one.png")
    stored = modelresults.for_digest(library.conn, one.digest)
    assert [(r["kind"], r["count"]) for r in stored] == [("face", 1)]
    assert stored[0]["data"]["boxes"] == [[200, 100, 296, 196, "face", 1.0]]
    assert names(library, "faces:1") == ["one"]
    assert names(library, "faces:>=2") == ["two"]
    assert names(library, "faces:0") == ["none"]
    assert names(library, "faces:1..") == ["one", "two"]
    assert names(library, "-faces:0") == ["one", "two"]
    assert names(library, "faces:1 OR faces:2") == ["one", "two"]
    assert names(library, "heads:0") == []  # no head detector has looked: unknown


def test_a_second_pipeline_without_the_cache_runs_no_model(
    library: Library, faces: Path, tmp_path: Path  # noqa: F811
) -> None:
    model = build_detector(tmp_path / "models" / "det.onnx", size=128)
    first = run(library, faces, tmp_path / "out", [
        {"use": "face-crop", "model": str(model)}])
    shutil.rmtree(Cache.in_library(library.dir).root)  # only the catalog remembers now
    model.write_bytes(b"not a model any more")  # loading it would fail
    again = run(library, faces, tmp_path / "out2", [
        {"use": "face-count", "model": str(model), "min": 1, "max": 1}])
    assert [i.name for i in again["items"]] == ["one"]
    assert again["reasons"]["two"] == "2 face(s) found, wanted 1..1"
    assert len(first["items"]) == 3  # the crops: one face of one, two of two
    # Other settings are another recipe: the model must run, and cannot.
    from illudex.dataset.errors import DatasetError

    with pytest.raises(DatasetError, match="step face-count"):
        run(library, faces, tmp_path / "out3", [
            {"use": "face-count", "model": str(model), "conf": 0.5}])


def test_class_scores_are_kept_and_searchable(library: Library, tmp_path: Path) -> None:
    art = tmp_path / "art"
    picture(art / "colour.png", (64, 64), fill=(255, 0, 0))
    picture(art / "grey.png", (64, 64), fill=(128, 128, 128))
    model = build_classifier(tmp_path / "cls", ANIME_CLASSES)
    run(library, art, tmp_path / "out", [{"use": "class-filter", "model": str(model)}])
    assert names(library, "class:illustration") == ["colour"]
    assert names(library, "class:comic") == ["grey"]
    assert names(library, "class:comic|illustration") == ["colour", "grey"]
    assert names(library, "-class:comic") == ["colour"]
    grey = library.image_at(art / "grey.png")
    [row] = modelresults.for_digest(library.conn, grey.digest)
    assert row["label"] == "comic" and row["data"]["comic"] > 0.9


def test_search_cli_and_api_find_pictures_by_faces(
    library: Library, faces: Path, tmp_path: Path  # noqa: F811
) -> None:
    model = build_detector(tmp_path / "models" / "det.onnx", size=128)
    run(library, faces, tmp_path / "out", [{"use": "face-count", "model": str(model)}])
    found = CliRunner().invoke(app, ["-L", str(library.dir), "search", "faces:1", "--json"])
    assert found.exit_code == 0, found.output
    assert [Path(h["path"]).stem for h in json.loads(found.output)["results"]] == ["one"]
    bad = CliRunner().invoke(app, ["-L", str(library.dir), "search", "faces:many"])
    assert bad.exit_code != 0 and "faces:1, faces:>=2" in bad.output
    with TestClient(create_app(library.dir), base_url=BASE_URL) as client:
        page = client.get("/api/images", params={"q": "faces:>=2"}).json()
        assert [Path(i["path"]).stem for i in page["items"]] == ["two"]
        refused = client.get("/api/images", params={"q": "class:"})
        assert refused.status_code == 400 and "class: needs a value" in refused.text


def test_metatag_syntax_errors_say_what_to_write() -> None:
    for text, message in (("faces:1.5", "faces: takes whole numbers"),
                          ("heads:x", "write e.g. heads:0, heads:1..3"),
                          ("class:|", "class: needs a value, e.g. class:illustration"),
                          ("--sort:width", "sort: applies to the whole query")):
        with pytest.raises(QuerySyntaxError, match=message.replace(".", r"\.")):
            parse(text)
