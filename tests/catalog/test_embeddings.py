"""The `embeddings` rows: the one place vectors are encoded and decoded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from illudex.catalog import embeddings
from illudex.catalog.db import connect
from illudex.catalog.transaction import transaction


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = connect(tmp_path / "c.db")
    with transaction(c):
        c.executemany("INSERT INTO images (id, path, size, mtime_ns, digest, added_at, "
                      "scanned_at) VALUES (?, ?, 1, 1, 'd', 0, 0)",
                      [(i, f"/p/{i}.png") for i in range(1, 6)])
    yield c
    c.close()


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, np.float64)
    return v / np.linalg.norm(v)


def test_vectors_come_back_as_stored_float32(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        embeddings.store(conn, "m", [(3, _unit(1, 2, 2)), (1, _unit(0, 0, 1))])
        embeddings.store(conn, "m", [(1, _unit(0, 1, 0))])  # replaced, not added
    ids, vectors = embeddings.load(conn, "m")
    assert ids.tolist() == [1, 3] and vectors.dtype == np.float32
    assert vectors.tolist() == [[0, 1, 0], _unit(1, 2, 2).astype(np.float32).tolist()]
    some, part = embeddings.load(conn, "m", np.array([3, 4, 5]))
    assert some.tolist() == [3] and part.shape == (1, 3)
    assert embeddings.vector(conn, "m", 3).tolist() == vectors[1].tolist()
    assert embeddings.vector(conn, "m", 2) is None
    none, empty = embeddings.load(conn, "other")
    assert none.shape == (0,) and empty.shape == (0, 0)


def test_models_covering_and_generations(conn: sqlite3.Connection) -> None:
    assert embeddings.generation(conn, "a") == 0
    with transaction(conn):
        embeddings.store(conn, "b", [(i, _unit(1, i)) for i in (1, 2, 3)])
        embeddings.store(conn, "a", [(i, _unit(i, 1)) for i in (1, 2)])
    assert embeddings.models(conn) == [("b", 3), ("a", 2)]
    assert embeddings.model_covering(conn, [1, 2]) == "a"  # both cover them: by name
    assert embeddings.model_covering(conn, [2, 3]) == "b"
    assert embeddings.model_covering(conn, [4]) is None
    assert embeddings.generation(conn, "a") == 2
    fps, dim = embeddings.fingerprints(conn, "a")
    assert dim == 2 and sorted(fps) == [1, 2]


def test_mixed_dimensions_are_an_error_and_bad_rows_are_skipped(
        conn: sqlite3.Connection) -> None:
    with transaction(conn):
        embeddings.store(conn, "m", [(1, _unit(1, 0)), (2, _unit(0, 1))])
        conn.execute("INSERT INTO embeddings (image_id, model, dim, vector) "
                     "VALUES (3, 'm', 3, ?)", (np.zeros(3, "<f4").tobytes(),))
    with pytest.raises(embeddings.EmbeddingError, match=r"mixed dimensions \[2, 3\]"):
        embeddings.load(conn, "m")
    with pytest.raises(ValueError, match="mixed dimensions"):
        embeddings.fingerprints(conn, "m")
    batches = list(embeddings.batches(conn, "m", 2, batch=1))
    assert [b[0].tolist() for b in batches] == [[1], [2]]  # id 3 skipped, with a warning
    only = list(embeddings.batches(conn, "m", 2, ids=[2, 3]))
    assert [b[0].tolist() for b in only] == [[2]]
