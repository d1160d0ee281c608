"""The Milvus backend against a real milvus-lite database file (skipped without pymilvus)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from illudex.catalog import embeddings as embedding_rows
from illudex.errors import InvalidInput
from illudex.index.milvus import (
    MilvusIndex,
    MilvusUnavailable,
    choose_index,
    collection_name,
    open_milvus_index,
    partition_name,
)
from illudex.index.vectors import ExactIndex

needs_milvus_lite = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("pymilvus", "milvus_lite")),
    reason="pymilvus / milvus-lite not installed (pip install 'illudex[milvus]')")


def test_missing_pymilvus_gives_an_instruction(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as on an install without it
    with pytest.raises(MilvusUnavailable, match="pip install"):
        MilvusIndex(str(tmp_path / "m.db"), "model", 8)


def test_names_are_valid_for_milvus() -> None:
    assert collection_name("my-art", 1024) == "my_art_1024"
    assert partition_name("wd-vit/v3:large") == "m_wd_vit_v3_large"


def test_index_type_follows_the_size() -> None:
    assert choose_index(2_000_000, 1024, lite=False).kind == "HNSW"
    big = choose_index(10_000_000, 1024, lite=False)
    assert big.kind == "IVF_SQ8"
    assert big.build["nlist"] == 12_649  # 4·√10 M
    assert big.search["nprobe"] == 790
    pq = choose_index(10_000_000, 1024, lite=False, prefer="ivf_pq")
    assert pq.build["m"] == 128 and 1024 % pq.build["m"] == 0
    with pytest.raises(InvalidInput, match="milvus-lite"):
        choose_index(10, 8, lite=True, prefer="IVF_PQ")


def recall_at_10(index: MilvusIndex, exact: ExactIndex, queries: np.ndarray) -> float:
    found = 0
    for q in queries:
        truth = {i for i, _ in exact.search(q, 10)}
        found += len(truth & {i for i, _ in index.search(q, 10)})
    return found / (10 * len(queries))


@needs_milvus_lite
def test_milvus_index_add_remove_search_persist(tmp_path: Path, vx) -> None:
    uri = str(tmp_path / "milvus.db")
    data = vx.clustered(600)
    ids = np.arange(1, 601, dtype=np.int64)
    index = MilvusIndex(uri, vx.MODEL, vx.DIM)
    index.add(ids, data)
    exact = ExactIndex(vx.DIM)
    exact.add(ids, data)
    q = data[10]
    assert index.search(q, 1)[0][0] == 11
    assert index.search(q, 1)[0][1] == pytest.approx(1.0, abs=1e-4)
    top = [i for i, _ in index.search(q, 10)]
    assert len(set(top) & {i for i, _ in exact.search(q, 10)}) >= 9
    allowed = set(range(1, 601, 7))
    assert [i for i, _ in index.search(q, 5, allowed=allowed)] == [
        i for i, _ in exact.search(q, 5, allowed=allowed)]
    assert all(s >= 0.6 for _, s in index.search(q, 50, min_score=0.6))

    index.add(np.array([11]), data[20][None, :])  # id 11 replaced, not duplicated
    index.remove([21, 12345])
    index.save()
    assert len(index) == 599
    assert index.search(data[20], 1)[0][0] == 11
    index.close()

    reopened = MilvusIndex(uri, vx.MODEL, vx.DIM)
    assert len(reopened) == 599
    assert reopened.search(data[20], 1)[0][0] == 11
    assert reopened.sample(32).shape == (32, vx.DIM)
    reopened.close()


@needs_milvus_lite
def test_models_of_one_size_are_partitions_of_one_collection(tmp_path: Path, vx) -> None:
    uri = str(tmp_path / "milvus.db")
    a, b = vx.clustered(200, seed=1), vx.clustered(200, seed=2)
    ids = np.arange(1, 201, dtype=np.int64)
    first = MilvusIndex(uri, "model-a", vx.DIM, collection="art")
    second = MilvusIndex(uri, "model-b", vx.DIM, collection="art")
    first.add(ids, a)
    second.add(ids, b)  # the same image ids, other vectors: no clash
    second.remove([5])
    assert first.collection == second.collection == f"art_{vx.DIM}"
    assert (len(first), len(second)) == (200, 199)
    assert first.search(a[4], 1)[0] == (5, pytest.approx(1.0, abs=1e-4))
    assert all(i != 5 for i, _ in second.search(a[4], 199))
    first.close()
    second.close()


@needs_milvus_lite
def test_open_milvus_index_syncs_with_catalog(tmp_path: Path, catalog, vx) -> None:
    uri = str(tmp_path / "milvus.db")
    data = vx.clustered(300)
    vx.add_images(catalog, np.arange(1, 251), data[:250])
    index = open_milvus_index(uri, catalog, vx.MODEL)
    assert len(index) == 250
    index.close()
    vx.delete_images(catalog, np.arange(1, 11))
    vx.add_images(catalog, np.arange(251, 301), data[250:])
    index = open_milvus_index(uri, catalog, vx.MODEL)
    assert len(index) == 290
    assert index.fingerprints() == embedding_rows.fingerprints(catalog, vx.MODEL)[0]
    assert index.search(data[260], 1)[0][0] == 261
    index.close()


@needs_milvus_lite
def test_recall_at_10_of_hnsw_and_of_ivf_sq8_past_the_hnsw_size(
        tmp_path: Path, catalog, vx) -> None:
    data = vx.clustered(4000, centres=80, seed=3)
    ids = np.arange(1, 4001, dtype=np.int64)
    exact = ExactIndex(vx.DIM)
    exact.add(ids, data)
    queries = vx.clustered(60, centres=80, seed=3)[::1] + 0.05  # near, not equal to, stored
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    vx.add_images(catalog, ids[:1000], data[:1000])
    index = open_milvus_index(str(tmp_path / "m.db"), catalog, vx.MODEL, hnsw_max=2000)
    assert index.choice.kind == "HNSW"
    index.close()
    vx.add_images(catalog, ids[1000:], data[1000:])  # now past hnsw_max: IVF_SQ8
    index = open_milvus_index(str(tmp_path / "m.db"), catalog, vx.MODEL, hnsw_max=2000)
    assert index.choice.kind == "IVF_SQ8"
    assert index.choice.build["nlist"] == 252
    assert recall_at_10(index, exact, queries) >= 0.95
    index.close()
    reopened = MilvusIndex(str(tmp_path / "m.db"), vx.MODEL, vx.DIM)
    assert reopened.choice.kind == "IVF_SQ8"  # read back from the collection
    assert recall_at_10(reopened, exact, queries) >= 0.95
    reopened.close()

    hnsw = MilvusIndex(str(tmp_path / "h.db"), vx.MODEL, vx.DIM)
    hnsw.add(ids, data)
    assert recall_at_10(hnsw, exact, queries) >= 0.95
    hnsw.close()
