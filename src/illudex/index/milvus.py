"""Milvus backend for collections that outgrow one machine (pymilvus; milvus-lite locally).

Same interface as the embedded backends (`illudex.index.vectors.VectorIndex`). One Milvus
collection per model holds `id` (the catalog's image id), `fp` (the embedding's fingerprint,
so `sync_with_catalog` patches only what changed) and the unit vector, HNSW, inner product.

`pymilvus` is optional: importing this module without it works, using it raises a
`MilvusUnavailable` that says what to install.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from typing import Any

import numpy as np

from illudex.index.vectors import (
    AllowedIds,
    allowed_array,
    as_ids,
    catalog_fingerprints,
    checked_batch,
    fingerprints,
    normalise_rows,
    sync_with_catalog,
    top_k,
)

#: Ids per `id in [...]` filter expression and rows per insert call.
BATCH = 5_000
EF_SEARCH = 64


class MilvusUnavailable(RuntimeError):
    """pymilvus is not installed, or the Milvus server cannot be reached."""


def _client(uri: str, token: str) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MilvusUnavailable(
            "the Milvus backend needs pymilvus: pip install pymilvus "
            "(and milvus-lite for a local file instead of a server)") from exc
    try:
        return MilvusClient(uri, token=token) if token else MilvusClient(uri)
    except Exception as exc:  # pymilvus raises its own types, or grpc's, or OSError
        raise MilvusUnavailable(f"cannot open Milvus at {uri!r}: {exc}") from exc


def collection_name(model: str) -> str:
    """Milvus names allow letters, digits and underscores, starting with a letter or _."""
    return "illudex_" + re.sub(r"\W", "_", model, flags=re.ASCII)


class MilvusIndex:
    """A model's vectors in a Milvus collection (created when missing)."""

    backend = "milvus"

    def __init__(self, uri: str, model: str, dim: int, *, token: str = "",
                 collection: str | None = None) -> None:
        if dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = dim
        self.uri = uri
        self.collection = collection or collection_name(model)
        self._client = _client(uri, token)
        if self._client.has_collection(self.collection):
            self._check_dim()
        else:
            self._create()

    def _create(self) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("fp", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self._client.prepare_index_params()
        params.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                         params={"M": 16, "efConstruction": 128})
        self._client.create_collection(self.collection, schema=schema, index_params=params)

    def _check_dim(self) -> None:
        fields = self._client.describe_collection(self.collection)["fields"]
        dims = [int(f["params"]["dim"]) for f in fields if f["name"] == "vector"]
        if dims != [self.dim]:
            raise ValueError(f"Milvus collection {self.collection!r} holds vectors of dimension "
                             f"{dims}, not {self.dim}: drop it or use another collection name")

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, raw, unit = checked_batch(ids, vectors, self.dim)
        if len(ids) == 0:
            return
        fps = fingerprints(raw)
        for start in range(0, len(ids), BATCH):
            rows = [{"id": int(i), "fp": int(f), "vector": v}
                    for i, f, v in zip(ids[start : start + BATCH], fps[start : start + BATCH],
                                       unit[start : start + BATCH], strict=True)]
            self._client.upsert(self.collection, rows)

    def remove(self, ids: Iterable[int]) -> None:
        gone = as_ids(ids).tolist()
        for start in range(0, len(gone), BATCH):
            self._client.delete(self.collection, ids=gone[start : start + BATCH])

    def search(self, query: np.ndarray, k: int, *, min_score: float | None = None,
               allowed: AllowedIds | None = None) -> list[tuple[int, float]]:
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        q = normalise_rows(query, self.dim)[0]
        if k == 0:
            return []
        if allowed is None:
            return self._search(q, k, None, min_score)
        wanted = allowed_array(allowed)
        hits: list[tuple[int, float]] = []
        for start in range(0, len(wanted), BATCH):  # bounded filter expressions
            part = wanted[start : start + BATCH].tolist()
            hits += self._search(q, min(k, len(part)), f"id in {part}", min_score)
        return top_k(np.array([h[0] for h in hits], np.int64),
                     np.array([h[1] for h in hits], np.float64), k, None)

    def _search(self, q: np.ndarray, k: int, expr: str | None,
                min_score: float | None) -> list[tuple[int, float]]:
        result = self._client.search(
            self.collection, data=[q], limit=k, filter=expr or "", output_fields=["id"],
            search_params={"metric_type": "IP", "params": {"ef": max(EF_SEARCH, k)}})
        hits = [(int(h["id"]), float(h["distance"])) for h in result[0]]
        return [h for h in hits if min_score is None or h[1] >= min_score]

    def fingerprints(self) -> dict[int, int]:
        out: dict[int, int] = {}
        iterator = self._client.query_iterator(self.collection, batch_size=BATCH, filter="",
                                               output_fields=["id", "fp"])
        try:
            while batch := iterator.next():
                out.update((int(r["id"]), int(r["fp"])) for r in batch)
        finally:
            iterator.close()
        return out

    def vectors(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their unit vectors)."""
        wanted = as_ids(ids).tolist()
        rows = []
        for start in range(0, len(wanted), BATCH):
            rows += self._client.get(self.collection, ids=wanted[start : start + BATCH],
                                     output_fields=["id", "vector"])
        if not rows:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        return (np.array([r["id"] for r in rows], np.int64),
                np.array([r["vector"] for r in rows], np.float32))

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """Up to `count` stored vectors drawn at random (for `relevance.cutoff`)."""
        ids = np.fromiter(self.fingerprints(), np.int64)
        pick = np.random.default_rng(seed).choice(len(ids), min(count, len(ids)), replace=False)
        return self.vectors(ids[pick])[1]

    def __len__(self) -> int:
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def save(self) -> None:
        """Make everything written durable (Milvus persists on its own; this flushes)."""
        self._client.flush(self.collection)

    def close(self) -> None:
        self._client.close()


def open_milvus_index(uri: str, conn: sqlite3.Connection, model: str, *, token: str = "",
                      collection: str | None = None) -> MilvusIndex:
    """`model`'s Milvus collection, patched to match the catalog's embeddings table.

    `uri` is a server address (http://host:19530) or, with milvus-lite, a local file path
    ending in .db. Raises MilvusUnavailable with what to do when it cannot be used.
    """
    catalog, dim = catalog_fingerprints(conn, model)
    if dim == 0:
        raise ValueError(f"the catalog has no embeddings of model {model!r} yet: run it first")
    index = MilvusIndex(uri, model, dim, token=token, collection=collection)
    added, removed = sync_with_catalog(index, conn, model, catalog)
    if added or removed:
        index.save()
    return index
