"""The Milvus backend against a real milvus-lite database file (skipped without pymilvus)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from illudex.index.milvus import (
    MilvusIndex,
    MilvusUnavailable,
    collection_name,
    open_milvus_index,
)
from illudex.index.vectors import ExactIndex, catalog_fingerprints

needs_milvus_lite = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("pymilvus", "milvus_lite")),
    reason="pymilvus / milvus-lite not installed (optional: pip install pymilvus milvus-lite)")


def test_missing_pymilvus_gives_an_instruction(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as on an install without it
    with pytest.raises(MilvusUnavailable, match="pip install pymilvus"):
        MilvusIndex(str(tmp_path / "m.db"), "model", 8)


def test_collection_name_is_valid_for_milvus() -> None:
    assert collection_name("wd-vit/v3:large") == "illudex_wd_vit_v3_large"


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
    with pytest.raises(ValueError, match="dimension"):
        MilvusIndex(uri, vx.MODEL, vx.DIM + 1)
    reopened.close()


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
    assert index.fingerprints() == catalog_fingerprints(catalog, vx.MODEL)[0]
    assert index.search(data[260], 1)[0][0] == 261
    index.close()
