"""The `vectors` library setting: parsing it, and a library whose search runs on milvus-lite
giving the embedded index's answers (search by picture and by words), through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from illudex.catalog import embeddings
from illudex.cli import app
from illudex.errors import InvalidInput
from illudex.index.backend import parse_backend
from illudex.library import Library
from tests.fixtures.model_env import isolated_models  # noqa: F401  (offline model caches)
from tests.fixtures.onnx_models import build_clip, build_tagger
from tests.index.test_milvus import needs_milvus_lite


def test_settings_name_the_backend(tmp_path: Path) -> None:
    assert parse_backend(None, tmp_path).kind == "embedded"
    assert parse_backend("embedded", tmp_path).kind == "embedded"
    server = parse_backend("milvus://nas.local/art?index=ivf_pq", tmp_path)
    assert (server.kind, server.uri, server.collection, server.index_type) == (
        "milvus", "http://nas.local:19530", "art", "IVF_PQ")
    lite = parse_backend("milvus-lite:vectors.db", tmp_path)
    assert (lite.kind, lite.uri) == ("milvus-lite", str(tmp_path / "vectors.db"))
    for bad in ("milvus://", "milvus-lite:vectors", "faiss:x", "milvus://h/a-b",
                "milvus://h?index=DISKANN", "milvus://h?nprobe=3"):
        with pytest.raises(InvalidInput):
            parse_backend(bad, tmp_path)


def cli(*args: str | Path) -> dict:
    result = CliRunner().invoke(app, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    """Pictures of distinct colours: the tiny models' vectors follow the colour."""
    folder = tmp_path / "art"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i, rgb in enumerate(rng.integers(0, 256, (30, 3))):
        Image.new("RGB", (48, 48), tuple(int(c) for c in rgb)).save(folder / f"c{i:02d}.png")
    return folder


def backends(library: Path) -> set[str]:
    with Library.open(library) as lib:
        return {lib.similarity.vector_index(m).backend
                for m, _ in lib.similarity.embedding_models()}


def answers(library: Path) -> list[list[int]]:
    """Search by picture and by words (past the relevance cut-off), and every model's
    raw top 10 for a few stored vectors."""
    with Library.open(library) as lib:
        first = lib.image_ids([str(next(iter(lib.folders())))])[0]
        found = [[i for i, _ in lib.similarity.like_picture(first, limit=10)],
                 [i for i, _ in lib.similarity.like_text("red", limit=10)],
                 [i for i, _ in lib.similarity.like_text("a picture of blue", limit=10)]]
        for model, _ in lib.similarity.embedding_models():
            index = lib.similarity.vector_index(model)
            for image_id in (1, 7, 19):
                vector = embeddings.vector(lib.conn, model, image_id)
                found.append([i for i, _ in index.search(vector, 10)])
    return found


@needs_milvus_lite
def test_search_on_milvus_lite_answers_as_the_embedded_index(
        tmp_path: Path, colours: Path) -> None:
    library = tmp_path / "lib"
    cli("tag", colours, "--model", build_tagger(tmp_path / "tagger"), "--library", library)
    cli("embed", colours, "--model", build_clip(tmp_path / "clip"), "--library", library)
    embedded = answers(library)
    assert all(len(a) >= 1 for a in embedded[:3])  # something passes the cut-off
    assert [len(a) for a in embedded[3:]] == [10] * 6

    moved = cli("index", "migrate", "--to", "milvus-lite:vectors.db", "--library", library)
    assert set(moved["models"].values()) == {30}  # the tagger's and CLIP's vectors
    assert cli("config", "get", "vectors", "--library", library)["value"] == \
        "milvus-lite:vectors.db"
    assert (library / "vectors.db").exists()
    assert backends(library) == {"milvus"}
    assert answers(library) == embedded

    # The Milvus file lost (a server replaced): the next search refills it from the catalog.
    shutil.rmtree(library / "vectors.db") if (library / "vectors.db").is_dir() else \
        (library / "vectors.db").unlink()
    assert answers(library) == embedded

    cli("config", "set", "vectors", "embedded", "--library", library)
    assert backends(library) == {"exact"}
    assert answers(library) == embedded


def test_a_bad_setting_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["config", "set", "vectors", "faiss:x",
                                      "--library", str(tmp_path / "lib")])
    assert result.exit_code == 1
    assert "unknown vector backend" in result.output
