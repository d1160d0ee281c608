"""Rows of the `embeddings` table: one vector per (model, image), and their decoding.

Vectors are stored as float32 little-endian blobs with their dimension; this module is
the one place that encodes and decodes them. `embedding_generations` (migration 3) is a
per-model counter every change bumps, kept by triggers: a vector index compares it with
the one it was built at instead of reading every row.

numpy is imported by the functions that need it: the duplicate finder imports this
module, and its cached re-run loads no numpy.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from illudex.catalog.idlists import IN_LIST, as_param
from illudex.errors import Conflict

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


class EmbeddingError(Conflict, ValueError):  # ValueError: callers and tests catch it
    """A model's stored embeddings cannot be used together (mixed dimensions)."""

    def __init__(self, model: str, dims: set[int]) -> None:
        super().__init__(f"embeddings of model {model!r} have mixed dimensions "
                         f"{sorted(dims)}: re-run that model on the library")
        self.model = model
        self.dims = sorted(dims)


def store(conn: sqlite3.Connection, model: str,
          rows: Iterable[tuple[int, np.ndarray]]) -> None:
    """Write (or replace) `model`'s vector of each image; the caller holds the transaction."""
    import numpy as np

    conn.executemany(
        "INSERT OR REPLACE INTO embeddings (image_id, model, dim, vector) VALUES (?, ?, ?, ?)",
        ((int(i), model, int(v.shape[-1]), np.asarray(v, dtype="<f4").tobytes())
         for i, v in rows),
    )


def models(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(model, number of images) for every model with stored embeddings, most used first
    (then by name)."""
    return [(str(m), int(n)) for m, n in conn.execute(
        "SELECT model, COUNT(*) FROM embeddings GROUP BY model ORDER BY 2 DESC, 1")]


def vector(conn: sqlite3.Connection, model: str, image_id: int) -> np.ndarray | None:
    """One image's vector from `model`, None when it has none."""

    row = conn.execute("SELECT dim, vector FROM embeddings WHERE model = ? AND image_id = ?",
                       (model, int(image_id))).fetchone()
    return None if row is None else _decode(row[1], row[0])


def load(conn: sqlite3.Connection, model: str, ids: Iterable[int] | None = None
         ) -> tuple[np.ndarray, np.ndarray]:
    """(image ids ascending, float32 vectors [N, dim]) of `model`: every one, or those of
    `ids` that have one. Raises EmbeddingError when the vectors differ in dimension."""
    import numpy as np

    if ids is None:
        rows = conn.execute("SELECT image_id, dim, vector FROM embeddings WHERE model = ? "
                            "ORDER BY image_id", (model,)).fetchall()
    else:
        rows = conn.execute(f"SELECT image_id, dim, vector FROM embeddings WHERE model = ? "
                            f"AND image_id IN {IN_LIST} ORDER BY image_id",
                            (model, as_param(ids))).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    dims = {int(r[1]) for r in rows}
    if len(dims) > 1:
        raise EmbeddingError(model, dims)
    ids_out = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    return ids_out, np.stack([_decode(r[2], r[1]) for r in rows])


def model_covering(conn: sqlite3.Connection, ids: Sequence[int]) -> str | None:
    """The first model (by name) that embedded every one of `ids`, or None."""
    if not ids:
        return None
    row = conn.execute(
        f"SELECT model FROM embeddings WHERE image_id IN {IN_LIST} "
        "GROUP BY model HAVING COUNT(*) = ? ORDER BY model LIMIT 1",
        (as_param(ids), len(set(ids))),
    ).fetchone()
    return row[0] if row else None


def generation(conn: sqlite3.Connection, model: str) -> int | None:
    """The model's embedding generation (0: never written); None on a catalog without the
    `embedding_generations` table (a connection opened without migrating)."""
    try:
        row = conn.execute("SELECT generation FROM embedding_generations WHERE model = ?",
                           (model,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return int(row[0]) if row else 0


def fingerprints(conn: sqlite3.Connection, model: str) -> tuple[dict[int, int], int]:
    """({image_id: fingerprint}, dim) of a model's embeddings, read without the full
    vectors: the fingerprint is the vector's first 8 bytes as a signed integer.

    Raises EmbeddingError when the model's embeddings do not share one dimension.
    """
    rows = conn.execute(
        "SELECT image_id, substr(vector, 1, 8), dim FROM embeddings WHERE model = ?", (model,)
    ).fetchall()
    dims = {row[2] for row in rows}
    if len(dims) > 1:
        raise EmbeddingError(model, dims)
    fps = {int(row[0]): int.from_bytes(bytes(row[1]).ljust(8, b"\0"), "little", signed=True)
           for row in rows}
    return fps, (dims.pop() if dims else 0)


def batches(conn: sqlite3.Connection, model: str, dim: int, ids: Iterable[int] | None = None,
            batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (ids, float32 vectors [n, dim]) batches of a model's embeddings, ascending by
    id: every one, or those of `ids`. Rows of another size are skipped with a warning
    (they would poison an index)."""
    import numpy as np

    if ids is None:
        cursor = conn.execute(
            "SELECT image_id, vector FROM embeddings WHERE model = ? ORDER BY image_id", (model,))
    else:
        cursor = conn.execute(
            f"SELECT image_id, vector FROM embeddings WHERE model = ? AND image_id IN {IN_LIST} "
            "ORDER BY image_id", (model, as_param(ids)))
    for rows in iter(lambda: cursor.fetchmany(batch), []):
        good = [r for r in rows if r[1] is not None and len(r[1]) == dim * 4]
        if len(good) != len(rows):
            log.warning("%d embeddings of model %r have the wrong size; skipped",
                        len(rows) - len(good), model)
        if good:
            yield (np.array([r[0] for r in good], np.int64),
                   np.frombuffer(b"".join(r[1] for r in good), "<f4").reshape(-1, dim))


def _decode(blob: bytes, dim: int) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype="<f4", count=int(dim))
