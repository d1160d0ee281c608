"""Which vector backend a library uses: its `vectors` setting, and opening it.

    embedded                          the default: exact numpy / usearch files in LIBDIR/index
    milvus://HOST:PORT[/COLLECTION]   a Milvus server (token from $ILLUDEX_MILVUS_TOKEN)
    milvus-lite:PATH                  a local milvus-lite file (relative: in the library)

A trailing `?index=IVF_PQ` (or HNSW, IVF_FLAT, IVF_SQ8) fixes the Milvus index type
instead of choosing it by size. The catalog's embeddings stay the source of truth
whatever the backend: `migrate` fills the new backend from them, so nothing is lost when
a Milvus server is replaced.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from illudex.catalog import embeddings as embedding_rows
from illudex.errors import InvalidInput
from illudex.index.vectors import (
    VectorIndex,
    open_index,
)

SETTING = "vectors"
EMBEDDED = "embedded"
ENV_TOKEN = "ILLUDEX_MILVUS_TOKEN"  # "user:password" or an API key; never in settings.json
LITE_PREFIX = "milvus-lite:"


@dataclass(frozen=True)
class VectorBackend:
    kind: str  # "embedded" | "milvus" | "milvus-lite"
    uri: str = ""  # http://host:port, or the milvus-lite file
    collection: str | None = None
    index_type: str | None = None

    def describe(self) -> str:
        if self.kind == EMBEDDED:
            return EMBEDDED
        where = f"{self.uri} collection {self.collection or 'illudex'}"
        return f"{self.kind} at {where}" + (f", {self.index_type}" if self.index_type else "")


def parse_backend(value: str | None, library_dir: str | Path) -> VectorBackend:
    """The backend a `vectors` setting names (None or "": embedded). Raises InvalidInput."""
    text = (value or "").strip()
    if text in ("", EMBEDDED):
        return VectorBackend(EMBEDDED)
    text, _, query = text.partition("?")
    index_type = _index_type(query)
    if text.startswith(LITE_PREFIX):
        path = Path(text[len(LITE_PREFIX):]).expanduser()
        if not path.name.endswith(".db"):
            raise InvalidInput(f"a milvus-lite file name ends in .db, not {path.name!r}")
        return VectorBackend("milvus-lite", str(Path(library_dir) / path), None, index_type)
    if text.startswith("milvus://"):
        parts = urlsplit(text)
        if not parts.hostname:
            raise InvalidInput(f"no host in {text!r}: write milvus://HOST:19530[/collection]")
        collection = parts.path.strip("/") or None
        if collection and not collection.replace("_", "a").isalnum():
            raise InvalidInput(f"a Milvus collection name is letters, digits and _, "
                               f"not {collection!r}")
        uri = f"http://{parts.hostname}:{parts.port or 19530}"
        return VectorBackend("milvus", uri, collection, index_type)
    raise InvalidInput(f"unknown vector backend {value!r}: use embedded, "
                       "milvus://HOST:19530[/collection] or milvus-lite:PATH.db")


def _index_type(query: str) -> str | None:
    if not query:
        return None
    params = parse_qs(query)
    unknown = set(params) - {"index"}
    if unknown:
        raise InvalidInput(f"unknown option {sorted(unknown)[0]!r}: only ?index=TYPE")
    from illudex.index.milvus import INDEX_TYPES

    kind = params["index"][-1].upper()
    if kind not in INDEX_TYPES:
        raise InvalidInput(f"index type {kind!r} is not one of {', '.join(INDEX_TYPES)}")
    return kind


def open_vector_index(library_dir: str | Path, conn: sqlite3.Connection, model: str,
                      setting: str | None) -> VectorIndex:
    """`model`'s vector index on the backend `setting` names, in sync with the catalog."""
    backend = parse_backend(setting, library_dir)
    if backend.kind == EMBEDDED:
        return open_index(library_dir, conn, model)
    from illudex.index.milvus import MilvusIndex, open_milvus_index

    def opened(in_sync_dim: int | None) -> MilvusIndex:
        return open_milvus_index(backend.uri, conn, model,
                                 token=os.environ.get(ENV_TOKEN, ""),
                                 collection=backend.collection, index_type=backend.index_type,
                                 dim=in_sync_dim)

    synced = _SyncState(Path(library_dir), backend, model)
    generation = embedding_rows.generation(conn, model)
    in_sync_dim = synced.dim_at(generation)
    index = opened(in_sync_dim)
    if in_sync_dim is not None and len(index) != synced.count():
        # Milvus lost or gained rows behind the catalog's back (a server replaced): resync.
        index.close()
        index = opened(None)
    if generation is not None:
        synced.remember(generation, index.dim, len(index))
    return index


class _SyncState:
    """The catalog's embedding generation a Milvus partition was last synced at, kept in
    LIBDIR/index/milvus-sync.json: while it is current, a search opens the partition
    without comparing every fingerprint (minutes at 10 M vectors)."""

    def __init__(self, library_dir: Path, backend: VectorBackend, model: str) -> None:
        self.path = library_dir / "index" / "milvus-sync.json"
        self.key = f"{backend.uri}|{backend.collection or ''}|{model}"

    def dim_at(self, generation: int | None) -> int | None:
        """The vectors' size when the partition is in sync at `generation`, else None."""
        entry = self._load().get(self.key)
        if generation is None or not entry or entry.get("generation") != generation:
            return None
        return int(entry["dim"])

    def count(self) -> int:
        return int(self._load().get(self.key, {}).get("count", -1))

    def remember(self, generation: int, dim: int, count: int) -> None:
        state = self._load()
        state[self.key] = {"generation": generation, "dim": dim, "count": count}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".part")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def _load(self) -> dict[str, dict[str, int]]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def embedding_models(conn: sqlite3.Connection) -> list[str]:
    return sorted(m for m, _ in embedding_rows.models(conn))


def migrate(library_dir: str | Path, conn: sqlite3.Connection, target: str,
            on_model: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Fill the backend `target` names with every model's vectors from the catalog
    ({model: vectors there}); the caller then records `target` as the setting. Copying
    from the catalog, not from the old backend, means a lost server loses nothing."""
    parse_backend(target, library_dir)  # refuse a bad target before any work
    copied: dict[str, int] = {}
    for model in embedding_models(conn):
        if embedding_rows.fingerprints(conn, model)[1] == 0:
            continue
        index = open_vector_index(library_dir, conn, model, target)
        copied[model] = len(index)
        close = getattr(index, "close", None)
        if close is not None:
            close()
        if on_model is not None:
            on_model(model, copied[model])
    return copied
