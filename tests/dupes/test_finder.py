"""From catalogued pictures to groups: model embeddings widen the candidates when every
picture has one, and the remembered answer follows the model used."""

from __future__ import annotations

from pathlib import Path

from illudex.dupes.finder import _embedding_model, find_duplicates
from illudex.library import Library
from illudex.sample import make_sample
from tests.fixtures.onnx_models import build_tagger


def groups_of(lib: Library, folder: Path) -> list[list[str]]:
    report = lib.dupes.find([folder])
    return [sorted(Path(f.path).name for f in g.files) for g in report.groups]


def test_tagger_embeddings_join_the_candidates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ILLUDEX_CACHE_DIR", str(tmp_path / "cache"))
    folder = make_sample(tmp_path / "pics", n=6)
    lib = Library.open(tmp_path / "lib")
    lib.workers = 1
    lib.scan([folder])
    ids = lib.image_ids([folder])
    assert _embedding_model(lib.conn, ids) is None
    before = groups_of(lib, folder)
    assert any("art_00.png" in g and "art_00_small.jpg" in g for g in before)

    lib.models.tag([folder], model=str(build_tagger(tmp_path / "tiny-tagger")))
    assert _embedding_model(lib.conn, ids) == "tiny-tagger"
    after = find_duplicates(lib.conn, ids)
    # The engine still verifies every candidate: extra neighbours add no false groups.
    assert [sorted(Path(f.path).name for f in g.files) for g in after.groups] == before
    cached = lib.conn.execute("SELECT COUNT(*) FROM dupe_cache").fetchone()[0]
    assert cached == 2  # one answer without the model, one with it
