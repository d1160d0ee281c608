"""Vector indexes on real usearch files and a real SQLite catalog."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from illudex.catalog import embeddings as embedding_rows
from illudex.index import vectors
from illudex.index.vectors import (
    ExactIndex,
    HnswIndex,
    VectorIndex,
    index_path,
    open_index,
)

N = 3000


def recall_at_10(index: VectorIndex, reference: ExactIndex, queries: np.ndarray,
                 **kwargs: object) -> float:
    hits = 0
    for q in queries:
        want = {i for i, _ in reference.search(q, 10, **kwargs)}
        got = {i for i, _ in index.search(q, 10, **kwargs)}
        hits += len(want & got)
    return hits / (10 * len(queries))


def near(data: np.ndarray, rows: np.ndarray, seed: int = 1) -> np.ndarray:
    """Queries close to some data points (another picture like one we have)."""
    noise = np.random.default_rng(seed).standard_normal((len(rows), data.shape[1]))
    q = data[rows] + 0.4 * noise / np.sqrt(data.shape[1])
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data(vx) -> np.ndarray:
    return vx.clustered(N)


@pytest.fixture(scope="module")
def built(data: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One HNSW file of `data` (ids 100...) per module; tests get their own copies."""
    hnsw = HnswIndex(data.shape[1], tmp_path_factory.mktemp("built") / "m.usearch")
    hnsw.add(np.arange(100, 100 + N, dtype=np.int64), data)
    hnsw.save()
    return hnsw.path


@pytest.fixture
def pair(data: np.ndarray, built: Path, tmp_path: Path) -> tuple[HnswIndex, ExactIndex]:
    path = tmp_path / "index" / built.name
    path.parent.mkdir()
    for source in (built, built.with_name(built.name + ".manifest.npz")):
        shutil.copyfile(source, path.parent / source.name)
    exact = ExactIndex(data.shape[1])
    exact.add(np.arange(100, 100 + N, dtype=np.int64), data)
    return HnswIndex.load(path), exact


# ---------------------------------------------------------------- backends


def test_both_backends_satisfy_the_protocol(pair: tuple[HnswIndex, ExactIndex]) -> None:
    assert all(isinstance(ix, VectorIndex) for ix in pair)


def test_exact_search_is_cosine_best_first(vx) -> None:
    index = ExactIndex(3)
    index.add(np.array([1, 2, 3]), np.array([[1, 0, 0], [1, 1, 0], [0, 0, 5]], np.float32))
    result = index.search(np.array([2.0, 0, 0]), 3)
    assert [i for i, _ in result] == [1, 2, 3]
    assert result[0][1] == pytest.approx(1.0)
    assert result[1][1] == pytest.approx(np.sqrt(0.5), abs=1e-6)
    assert result[2][1] == pytest.approx(0.0, abs=1e-6)
    assert [i for i, _ in index.search(np.array([2.0, 0, 0]), 3, min_score=0.5)] == [1, 2]


def test_hnsw_recall_against_exact(pair: tuple[HnswIndex, ExactIndex], data: np.ndarray) -> None:
    hnsw, exact = pair
    queries = near(data, np.arange(0, N, 37))
    assert recall_at_10(hnsw, exact, queries) >= 0.95
    top = hnsw.search(queries[0], 10)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert dict(top)[top[0][0]] == pytest.approx(dict(exact.search(queries[0], 10))[top[0][0]],
                                                 abs=2e-3)  # float16 storage


@pytest.mark.parametrize("which", [0, 1])
def test_add_replaces_and_remove_forgets(pair: tuple[HnswIndex, ExactIndex], data: np.ndarray,
                                         which: int) -> None:
    index = pair[which]
    moved = data[7]  # id 100 now carries the vector of row 7; row 7's own id is removed
    index.add(np.array([100]), moved[None, :])
    index.remove([107, 999_999])
    assert len(index) == N - 1
    top = index.search(moved, 3)
    assert top[0][0] == 100 and top[0][1] == pytest.approx(1.0, abs=2e-3)
    assert all(i != 107 for i, _ in index.search(data[7], 50))
    old = index.search(data[0], 5)  # data[0] was id 100's old vector: no longer a perfect match
    assert old[0][1] < 0.999


def test_add_rejects_bad_input(pair: tuple[HnswIndex, ExactIndex]) -> None:
    for index in pair:
        with pytest.raises(ValueError, match="dimension"):
            index.add(np.array([1]), np.ones((1, 5), np.float32))
        with pytest.raises(ValueError, match="zero"):
            index.add(np.array([1]), np.zeros((1, index.dim), np.float32))
        with pytest.raises(ValueError, match="twice"):
            index.add(np.array([1, 1]), np.ones((2, index.dim), np.float32))
        with pytest.raises(ValueError, match="dimension"):
            index.search(np.ones(3), 5)
        assert index.search(np.ones(index.dim), 0) == []


def test_persistence_round_trip(pair: tuple[HnswIndex, ExactIndex], data: np.ndarray) -> None:
    hnsw, _ = pair
    hnsw.remove([100, 101])
    hnsw.save()
    loaded = HnswIndex.load(hnsw.path, hnsw.dim)
    assert len(loaded) == N - 2
    assert loaded.fingerprints() == hnsw.fingerprints()
    q = near(data, np.array([5]))[0]
    assert loaded.search(q, 10) == hnsw.search(q, 10)
    # A loaded (memory-mapped) index still takes writes, and saves them.
    loaded.add(np.array([100]), data[100 - 100][None, :])
    loaded.save()
    again = HnswIndex.load(hnsw.path, hnsw.dim)
    assert len(again) == N - 1 and again.search(data[0], 1)[0][0] == 100


def test_load_rejects_a_manifest_of_another_file(pair: tuple[HnswIndex, ExactIndex],
                                                 data: np.ndarray) -> None:
    hnsw, _ = pair
    hnsw.save()
    manifest = hnsw.manifest_path.read_bytes()
    hnsw.remove([100])
    hnsw.save()
    hnsw.manifest_path.write_bytes(manifest)  # as if the process died between the two writes
    with pytest.raises(vectors.IndexFileError):
        HnswIndex.load(hnsw.path, hnsw.dim)


def test_allowed_small_set_is_exact(pair: tuple[HnswIndex, ExactIndex], data: np.ndarray) -> None:
    hnsw, exact = pair
    allowed = set(range(100, 100 + N, 50)) | {-5}  # -5: not in the index, ignored
    for q in near(data, np.arange(0, N, 301)):
        got = hnsw.search(q, 10, allowed=allowed)
        assert [i for i, _ in got] == [i for i, _ in exact.search(q, 10, allowed=allowed)]
        assert all(i in allowed for i, _ in got)
    assert hnsw.search(data[0], 10, allowed=set()) == []


def test_allowed_large_set_overfetches(pair: tuple[HnswIndex, ExactIndex], data: np.ndarray,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hnsw, exact = pair
    monkeypatch.setattr(vectors, "EXACT_ALLOWED_MAX", 100)  # force the over-fetch path
    allowed = np.arange(100, 100 + N, 3)  # a third of the collection
    queries = near(data, np.arange(0, N, 97))
    assert recall_at_10(hnsw, exact, queries, allowed=allowed) >= 0.95
    for q in queries[:5]:
        assert all((i - 100) % 3 == 0 for i, _ in hnsw.search(q, 10, allowed=allowed))
    # A sparse set the graph can barely reach still yields k results (exact fallback).
    rare = np.arange(100, 100 + N, 25)[:120]
    assert len(hnsw.search(data[1], 10, allowed=rare)) == 10


def test_min_score_cuts_results(pair: tuple[HnswIndex, ExactIndex], data: np.ndarray) -> None:
    for index in pair:
        scores = [s for _, s in index.search(data[3], 50)]
        threshold = scores[20]
        kept = index.search(data[3], 50, min_score=threshold)
        assert 15 <= len(kept) <= 25 and all(s >= threshold for _, s in kept)


def test_sample_returns_stored_unit_vectors(pair: tuple[HnswIndex, ExactIndex]) -> None:
    for index in pair:
        sample = index.sample(64)
        assert sample.shape == (64, index.dim)
        np.testing.assert_allclose(np.linalg.norm(sample, axis=1), 1.0, atol=2e-3)


# ---------------------------------------------------------------- open_index and the catalog


def test_small_collection_opens_exact(catalog, vx, tmp_path: Path) -> None:
    vx.add_images(catalog, np.arange(1, 51), vx.clustered(50))
    index = open_index(tmp_path, catalog, vx.MODEL)
    assert isinstance(index, ExactIndex) and len(index) == 50
    assert index.search(vx.clustered(50)[9], 1)[0][0] == 10
    assert not index_path(tmp_path, vx.MODEL).exists()


def test_empty_catalog_gives_an_empty_index(catalog, tmp_path: Path) -> None:
    index = open_index(tmp_path, catalog, "no-such-model")
    assert len(index) == 0 and index.search(np.ones(index.dim), 5) == []


def test_large_collection_builds_file_then_reuses_it(catalog, vx, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    data = vx.clustered(1500)
    vx.add_images(catalog, np.arange(1, 1501), data)
    reports: list[tuple[int, int | None]] = []
    index = open_index(tmp_path, catalog, vx.MODEL, exact_max=100,
                       progress=lambda p: reports.append((p.done, p.total)))
    path = index_path(tmp_path, vx.MODEL)
    assert isinstance(index, HnswIndex) and path.exists() and len(index) == 1500
    assert reports and reports[-1] == (1500, 1500)
    stamp = path.stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="illudex.index.vectors"):
        again = open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    assert path.stat().st_mtime_ns == stamp and not caplog.records  # loaded, nothing rewritten
    assert again.search(data[42], 1)[0][0] == 43


def test_stale_index_is_patched_from_catalog(catalog, vx, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    data = vx.clustered(1600)
    vx.add_images(catalog, np.arange(1, 1501), data[:1500])
    open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    vx.delete_images(catalog, np.arange(1, 21))  # 20 pictures deleted (cascade)
    vx.add_images(catalog, np.arange(1501, 1601), data[1500:])  # 100 new ones
    vx.set_embeddings(catalog, np.array([500]), data[1550][None, :] * 2)  # one re-embedded
    with caplog.at_level(logging.INFO, logger="illudex.index.vectors"):
        index = open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    assert "101 added, 20 removed" in caplog.text and "rebuild" not in caplog.text
    assert len(index) == 1580
    assert index.search(data[1550], 2)[0][1] == pytest.approx(1.0, abs=2e-3)
    assert {i for i, _ in index.search(data[1550], 2)} == {500, 1551}
    assert all(i > 20 for i, _ in index.search(data[5], 20))
    assert embedding_rows.fingerprints(catalog, vx.MODEL)[0] == index.fingerprints()
    # the patch was saved: the next open has nothing to do
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="illudex.index.vectors"):
        open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    assert not caplog.records


def test_index_far_behind_is_rebuilt(catalog, vx, tmp_path: Path,
                                     caplog: pytest.LogCaptureFixture) -> None:
    data = vx.clustered(1000)
    vx.add_images(catalog, np.arange(1, 1001), data)
    open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    vx.set_embeddings(catalog, np.arange(1, 501), data[500:][:, ::-1].copy())  # half changed
    with caplog.at_level(logging.WARNING, logger="illudex.index.vectors"):
        index = open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    assert "out of date" in caplog.text
    assert embedding_rows.fingerprints(catalog, vx.MODEL)[0] == index.fingerprints()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no-manifest", "bad-manifest"])
def test_corrupt_index_file_is_rebuilt(catalog, vx, tmp_path: Path, damage: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    data = vx.clustered(800)
    vx.add_images(catalog, np.arange(1, 801), data)
    open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    path = index_path(tmp_path, vx.MODEL)
    manifest = path.with_name(path.name + ".manifest.npz")
    if damage == "garbage":
        path.write_bytes(b"not an index" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "no-manifest":
        manifest.unlink()
    else:
        manifest.write_bytes(b"PK\x03\x04 broken zip")
    with caplog.at_level(logging.WARNING, logger="illudex.index.vectors"):
        index = open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    assert "rebuilding" in caplog.text
    assert len(index) == 800 and index.search(data[10], 1)[0][0] == 11
    assert HnswIndex.load(path, vx.DIM).fingerprints() == index.fingerprints()  # file repaired


def test_index_of_another_dimension_is_rebuilt(catalog, vx, tmp_path: Path) -> None:
    data = vx.clustered(500)
    vx.add_images(catalog, np.arange(1, 501), data)
    path = index_path(tmp_path, vx.MODEL)
    other = HnswIndex(16, path)
    other.add(np.arange(1, 501), np.ones((500, 16), np.float32))
    other.save()
    index = open_index(tmp_path, catalog, vx.MODEL, exact_max=100)
    assert index.dim == vx.DIM and index.search(data[0], 1)[0][0] == 1


def test_mixed_dimensions_in_catalog_are_reported(catalog, vx) -> None:
    vx.add_images(catalog, np.arange(1, 3), vx.clustered(2))
    vx.set_embeddings(catalog, np.array([2]), np.ones((1, 8), np.float32))
    with pytest.raises(ValueError, match="mixed dimensions"):
        embedding_rows.fingerprints(catalog, vx.MODEL)


def test_malformed_embedding_rows_are_skipped(catalog, vx, tmp_path: Path) -> None:
    vx.add_images(catalog, np.arange(1, 31), vx.clustered(30))
    catalog.execute("UPDATE embeddings SET vector = x'0000' WHERE image_id = 3")
    index = open_index(tmp_path, catalog, vx.MODEL)
    assert len(index) == 29 and 3 not in set(index.ids().tolist())


def test_index_path_is_a_safe_file_name(tmp_path: Path) -> None:
    path = index_path(tmp_path, "../wd/vit:v3")
    assert path.parent == tmp_path / "index" and "/" not in path.name
    assert path.name.endswith(".usearch")


# ---------------------------------------------------------------- the generation fast path


@pytest.fixture
def counted_catalog(catalog):
    """A catalog with the embedding_generations counter (migration 3)."""
    assert catalog.execute("SELECT name FROM sqlite_master WHERE name = 'embedding_generations'"
                           ).fetchone() is not None
    return catalog


def test_generation_counts_every_change(counted_catalog, vx) -> None:
    conn = counted_catalog
    assert embedding_rows.generation(conn, vx.MODEL) == 0
    vx.add_images(conn, np.arange(1, 4), vx.clustered(3))
    assert embedding_rows.generation(conn, vx.MODEL) == 3
    vx.set_embeddings(conn, np.array([2]), vx.clustered(1, seed=5))  # INSERT OR REPLACE
    after_replace = embedding_rows.generation(conn, vx.MODEL)
    assert after_replace > 3
    vx.delete_images(conn, np.array([1]))  # cascades to embeddings
    assert embedding_rows.generation(conn, vx.MODEL) > after_replace
    assert embedding_rows.generation(conn, "other") == 0


def test_unchanged_catalog_is_not_scanned(counted_catalog, vx, tmp_path: Path) -> None:
    conn = counted_catalog
    data = vx.clustered(600)
    vx.add_images(conn, np.arange(1, 601), data)
    open_index(tmp_path, conn, vx.MODEL, exact_max=100)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    index = open_index(tmp_path, conn, vx.MODEL, exact_max=100)
    conn.set_trace_callback(None)
    assert not any("FROM embeddings" in s for s in statements), statements
    assert index.search(data[3], 1)[0][0] == 4
    # a change bumps the generation: the next open patches the file and records it
    vx.add_images(conn, np.array([601]), vx.clustered(1, seed=9))
    index = open_index(tmp_path, conn, vx.MODEL, exact_max=100)
    assert len(index) == 601
    assert HnswIndex.load(index.path).generation == embedding_rows.generation(conn, vx.MODEL)
