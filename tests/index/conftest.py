"""Fixtures for the vector index tests: a real catalog with embeddings, clustered vectors."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from illudex.catalog.db import connect

MODEL = "test-model"
DIM = 48


def clustered(n: int, dim: int = DIM, centres: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors in uneven clusters around a shared direction (like image embeddings)."""
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(dim)
    mean /= np.linalg.norm(mean)
    dirs = rng.standard_normal((centres, dim))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    labels = rng.integers(0, centres, n)
    x = 0.7 * mean + dirs[labels] + 0.9 * rng.standard_normal((n, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def add_images(conn: sqlite3.Connection, ids: np.ndarray, vectors: np.ndarray,
               model: str = MODEL) -> None:
    """Insert image rows and their embeddings, as a scan would."""
    now = time.time()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO images (id, path, size, mtime_ns, digest, added_at, scanned_at) "
        "VALUES (?, ?, 1, 1, 'd', ?, ?)",
        [(int(i), f"/pics/{int(i)}.png", now, now) for i in ids])
    set_embeddings(conn, ids, vectors, model, begin=False)
    conn.execute("COMMIT")


def set_embeddings(conn: sqlite3.Connection, ids: np.ndarray, vectors: np.ndarray,
                   model: str = MODEL, begin: bool = True) -> None:
    if begin:
        conn.execute("BEGIN")
    conn.executemany(
        "INSERT OR REPLACE INTO embeddings (image_id, model, dim, vector) VALUES (?, ?, ?, ?)",
        [(int(i), model, vectors.shape[1], np.asarray(v, "<f4").tobytes())
         for i, v in zip(ids, vectors, strict=True)])
    if begin:
        conn.execute("COMMIT")


def delete_images(conn: sqlite3.Connection, ids: np.ndarray) -> None:
    conn.executemany("DELETE FROM images WHERE id = ?", [(int(i),) for i in ids])


@pytest.fixture(scope="session")
def vx() -> SimpleNamespace:
    """The helpers above, for test modules (conftest.py is not importable by name)."""
    return SimpleNamespace(MODEL=MODEL, DIM=DIM, clustered=clustered, add_images=add_images,
                           set_embeddings=set_embeddings, delete_images=delete_images)


@pytest.fixture
def catalog(tmp_path: Path) -> sqlite3.Connection:
    conn = connect(tmp_path / "catalog.db")
    yield conn
    conn.close()
