"""Milvus backend for collections that outgrow one machine (pymilvus; milvus-lite locally).

Same interface as the embedded backends (`illudex.index.vectors.VectorIndex`). A library's
vectors live in one collection per vector size (`<base>_<dim>`: Milvus fixes a
collection's dimension) with one partition per model, so a search reads only its model's
vectors and a model can be dropped on its own. Each row holds `key` ("<partition>/<id>",
the primary key, unique across partitions), `id` (the catalog's image id), `fp` (the
embedding's fingerprint, so `sync_with_catalog` patches only what changed) and the unit
vector; inner product. The index type follows the collection's size (`choose_index`):
HNSW up to a few million vectors, IVF_SQ8 beyond (a quarter of HNSW's memory).

`pymilvus` is optional: importing this module without it works, using it raises a
`MilvusUnavailable` that says what to install.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from illudex.catalog import embeddings as embedding_rows
from illudex.errors import InvalidInput, Unavailable
from illudex.index.vectors import (
    AllowedIds,
    allowed_array,
    as_ids,
    checked_batch,
    fingerprints,
    normalise_rows,
    sync_with_catalog,
    top_k,
)

#: Ids per `id in [...]` filter expression and rows per insert call.
BATCH = 5_000
DEFAULT_BASE = "illudex"
#: Up to this many vectors a collection gets HNSW (~4.3 KB a 1024-d vector in memory with
#: M=16); beyond, IVF_SQ8 (~1 KB). docs/scale.md has the memory of each for 10 M vectors.
HNSW_MAX_VECTORS = 3_000_000
INDEX_TYPES = ("HNSW", "IVF_FLAT", "IVF_SQ8", "IVF_PQ")
LITE_INDEX_TYPES = ("HNSW", "IVF_FLAT", "IVF_SQ8")  # what milvus-lite can build
EF_SEARCH = 64


class MilvusUnavailable(Unavailable):
    """pymilvus is not installed, or the Milvus server cannot be reached."""


@dataclass(frozen=True)
class IndexChoice:
    """A Milvus index type with its build and search parameters."""

    kind: str
    build: dict[str, int] = field(default_factory=dict)
    search: dict[str, int] = field(default_factory=dict)


def choose_index(count: int, dim: int, *, lite: bool, prefer: str | None = None,
                 hnsw_max: int = HNSW_MAX_VECTORS) -> IndexChoice:
    """The index for a collection of `count` vectors: `prefer` when given, else HNSW up to
    `hnsw_max` and IVF_SQ8 beyond. IVF's nlist is 4·√n (Milvus' rule of thumb) and nprobe
    1/16 of it, at least 16: recall@10 ≥ 0.95 in tests/index/test_milvus.py."""
    kind = (prefer or ("HNSW" if count <= hnsw_max else "IVF_SQ8")).upper()
    allowed = LITE_INDEX_TYPES if lite else INDEX_TYPES
    if kind not in allowed:
        where = "milvus-lite" if lite else "Milvus"
        raise InvalidInput(f"{where} index type {kind!r} is not one of {', '.join(allowed)}")
    if kind == "HNSW":
        return IndexChoice(kind, {"M": 16, "efConstruction": 128}, {"ef": EF_SEARCH})
    nlist = int(min(65_536, max(16, 4 * math.sqrt(max(count, 1)))))
    build = {"nlist": nlist}
    if kind == "IVF_PQ":  # 8 dimensions a byte-sized code: 1/32 of float32
        build |= {"m": _pq_parts(dim), "nbits": 8}
    return IndexChoice(kind, build, {"nprobe": min(nlist, max(16, nlist // 16))})


def _pq_parts(dim: int) -> int:
    parts = max(1, dim // 8)
    while dim % parts:
        parts -= 1
    return parts


def _client(uri: str, token: str) -> Any:
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MilvusUnavailable(
            "the Milvus backend needs pymilvus: pip install 'illudex[milvus]' "
            "(pip install pymilvus milvus-lite)") from exc
    try:
        return MilvusClient(uri, token=token) if token else MilvusClient(uri)
    except Exception as exc:  # pymilvus raises its own types, or grpc's, or OSError
        raise MilvusUnavailable(f"cannot open Milvus at {uri!r}: {exc}") from exc


def safe_name(text: str) -> str:
    """Milvus names allow letters, digits and underscores, starting with a letter or _."""
    return re.sub(r"\W", "_", text, flags=re.ASCII)


def collection_name(base: str, dim: int) -> str:
    return f"{safe_name(base)}_{dim}"


def partition_name(model: str) -> str:
    return "m_" + safe_name(model)


def is_lite(uri: str) -> bool:
    """A local milvus-lite file, not a server address."""
    return not re.match(r"^(https?|tcp|grpc|unix)://", uri)


class MilvusIndex:
    """A model's vectors: a partition of its dimension's collection (both made when missing)."""

    backend = "milvus"

    def __init__(self, uri: str, model: str, dim: int, *, token: str = "",
                 collection: str | None = None, index_type: str | None = None) -> None:
        if dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = dim
        self.uri = uri
        self.lite = is_lite(uri)
        self.collection = collection_name(collection or DEFAULT_BASE, dim)
        self.partition = partition_name(model)
        self.prefer = index_type
        self._client = _client(uri, token)
        self.choice = choose_index(0, dim, lite=self.lite, prefer=index_type)
        if self._client.has_collection(self.collection):
            self._check_dim()
            self.choice = self._current_choice()
        else:
            self._create()
        if not self._client.has_partition(self.collection, self.partition):
            self._client.create_partition(self.collection, self.partition)

    def _create(self) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("id", DataType.INT64)
        schema.add_field("fp", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        self._client.create_collection(self.collection, schema=schema,
                                       index_params=self._index_params(self.choice))

    def _index_params(self, choice: IndexChoice) -> Any:
        params = self._client.prepare_index_params()
        params.add_index(field_name="vector", index_name="vector", index_type=choice.kind,
                         metric_type="IP", params=choice.build)
        return params

    def _check_dim(self) -> None:
        fields = self._client.describe_collection(self.collection)["fields"]
        dims = [int(f["params"]["dim"]) for f in fields if f["name"] == "vector"]
        names = {f["name"] for f in fields}
        if dims != [self.dim] or not {"key", "id", "fp"} <= names:
            raise InvalidInput(f"Milvus collection {self.collection!r} was not made by this "
                               "version of illudex: drop it or name another collection")

    def _current_choice(self) -> IndexChoice:
        info = self._client.describe_index(self.collection, "vector")
        kind = str(info.get("index_type", "HNSW"))
        build = {k: int(info[k]) for k in ("M", "efConstruction", "nlist", "m", "nbits")
                 if k in info}
        # The search parameters of the size this nlist was chosen for (nlist = 4·√n).
        fresh = choose_index(max(1, (build.get("nlist", 16) // 4) ** 2), self.dim,
                             lite=self.lite, prefer=kind)
        return IndexChoice(kind, build, fresh.search)

    # ---- the index type follows the size

    def fit_index(self, hnsw_max: int = HNSW_MAX_VECTORS) -> bool:
        """Rebuild the collection's index when its size calls for another type (or for an
        IVF nlist 4x off); True when it did. Searches wait while it rebuilds."""
        count = self._count(None)
        wanted = choose_index(count, self.dim, lite=self.lite, prefer=self.prefer,
                              hnsw_max=hnsw_max)
        if not self._needs_rebuild(wanted):
            return False
        self._client.flush(self.collection)
        self._client.release_collection(self.collection)
        self._client.drop_index(self.collection, "vector")
        self._client.create_index(self.collection, self._index_params(wanted))
        self._client.load_collection(self.collection)
        self.choice = wanted
        return True

    def _needs_rebuild(self, wanted: IndexChoice) -> bool:
        if wanted.kind != self.choice.kind:
            return True
        have, want = self.choice.build.get("nlist"), wanted.build.get("nlist")
        return bool(have and want and max(have, want) >= 4 * min(have, want))

    # ---- changes

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, raw, unit = checked_batch(ids, vectors, self.dim)
        if len(ids) == 0:
            return
        fps = fingerprints(raw)
        for start in range(0, len(ids), BATCH):
            part = slice(start, start + BATCH)
            rows = [{"key": self._key(i), "id": int(i), "fp": int(f), "vector": v}
                    for i, f, v in zip(ids[part], fps[part], unit[part], strict=True)]
            self._client.upsert(self.collection, rows, partition_name=self.partition)

    def remove(self, ids: Iterable[int]) -> None:
        gone = [self._key(i) for i in as_ids(ids).tolist()]
        for start in range(0, len(gone), BATCH):
            self._client.delete(self.collection, ids=gone[start : start + BATCH],
                                partition_name=self.partition)

    def _key(self, image_id: int) -> str:
        return f"{self.partition}/{int(image_id)}"

    # ---- queries

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
        params = dict(self.choice.search)
        if "ef" in params:
            params["ef"] = max(params["ef"], k)
        result = self._client.search(
            self.collection, data=[q], limit=k, filter=expr or "", output_fields=["id"],
            partition_names=[self.partition],
            search_params={"metric_type": "IP", "params": params})
        hits = [(int(h["entity"]["id"] if "entity" in h else h["id"]), float(h["distance"]))
                for h in result[0]]
        return [h for h in hits if min_score is None or h[1] >= min_score]

    def fingerprints(self) -> dict[int, int]:
        out: dict[int, int] = {}
        iterator = self._client.query_iterator(self.collection, batch_size=BATCH, filter="",
                                               output_fields=["id", "fp"],
                                               partition_names=[self.partition])
        try:
            while batch := iterator.next():
                out.update((int(r["id"]), int(r["fp"])) for r in batch)
        finally:
            iterator.close()
        return out

    def vectors(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their unit vectors)."""
        wanted = [self._key(i) for i in as_ids(ids).tolist()]
        rows: list[dict[str, Any]] = []
        for start in range(0, len(wanted), BATCH):
            rows += self._client.get(self.collection, ids=wanted[start : start + BATCH],
                                     output_fields=["id", "vector"],
                                     partition_names=[self.partition])
        if not rows:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        return (np.array([r["id"] for r in rows], np.int64),
                np.array([r["vector"] for r in rows], np.float32))

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """Up to `count` stored vectors drawn at random (for `relevance.cutoff`)."""
        ids = np.fromiter(self.fingerprints(), np.int64)
        pick = np.random.default_rng(seed).choice(len(ids), min(count, len(ids)), replace=False)
        return self.vectors(ids[np.sort(pick)])[1]

    def __len__(self) -> int:
        return self._count(self.partition)

    def _count(self, partition: str | None) -> int:
        """Rows of one partition, or of the collection. The key filter says the partition
        again: milvus-lite counts the whole collection whatever `partition_names` says."""
        if partition is None:
            rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        else:
            rows = self._client.query(self.collection, filter=f'key like "{partition}/%"',
                                      output_fields=["count(*)"], partition_names=[partition])
        return int(rows[0]["count(*)"])

    def save(self) -> None:
        """Make everything written durable (Milvus persists on its own; this flushes)."""
        self._client.flush(self.collection)

    def close(self) -> None:
        self._client.close()


def open_milvus_index(uri: str, conn: sqlite3.Connection, model: str, *, token: str = "",
                      collection: str | None = None, index_type: str | None = None,
                      hnsw_max: int = HNSW_MAX_VECTORS, dim: int | None = None) -> MilvusIndex:
    """`model`'s Milvus partition, patched to match the catalog's embeddings table, with
    the index type its collection's size calls for. With `dim` given, the caller knows the
    partition is already in sync (illudex.index.backend keeps the catalog generation it
    synced at): nothing is compared, so opening costs no pass over the vectors.

    `uri` is a server address (http://host:19530) or, with milvus-lite, a local file path
    ending in .db. Raises MilvusUnavailable with what to do when it cannot be used.
    """
    if dim is not None:
        return MilvusIndex(uri, model, dim, token=token, collection=collection,
                           index_type=index_type)
    catalog, dim = embedding_rows.fingerprints(conn, model)
    if dim == 0:
        raise InvalidInput(f"the catalog has no embeddings of model {model!r} yet: run it first")
    index = MilvusIndex(uri, model, dim, token=token, collection=collection,
                        index_type=index_type)
    added, removed = sync_with_catalog(index, conn, model, catalog)
    if added or removed:
        index.save()
        index.fit_index(hnsw_max)
    return index
