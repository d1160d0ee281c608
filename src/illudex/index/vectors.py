"""Vector indexes for search by picture: one interface, an exact and an HNSW backend.

The catalog's `embeddings` table is the source of truth; an index file is derived from it
and can always be rebuilt. `open_index` picks the backend by collection size (exact numpy
below `EXACT_MAX_VECTORS`, where brute force is as fast and needs no file), loads the usearch
file next to the catalog, brings it in line with the table (adds / removes / re-adds what
changed) and rebuilds it when it is missing, unreadable or too far behind.

Scores are cosine similarities (vectors are L2-normalised on the way in), best first.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from illudex.catalog import embeddings as embedding_rows
from illudex.catalog.transaction import transaction
from illudex.errors import IlludexError
from illudex.progress import ProgressCallback, notify

log = logging.getLogger(__name__)

#: Up to this many vectors, exact search beats building an HNSW graph (bench/vector_index.py:
#: 100 000 x 1024 exact is ~12 ms p50, so 20 000 is ~2-3 ms, and loading them is ~0.1 s).
EXACT_MAX_VECTORS = 20_000
#: An `allowed` set up to this size is searched exactly (vectors fetched from the index,
#: ~16 ms per 1 000 at dim 1024 on a busy 2-core machine); above it the HNSW search
#: over-fetches OVERFETCH * k * n / |allowed| neighbours and filters (bench/vector_index.py).
EXACT_ALLOWED_MAX = 2_000
OVERFETCH = 4
#: When more than this share of an index file's entries changed, rebuild instead of patching
#: (HNSW tombstones and late inserts cost recall).
REBUILD_SHARE = 0.3

AllowedIds = set[int] | frozenset[int] | np.ndarray | Iterable[int]


@runtime_checkable
class VectorIndex(Protocol):
    """What search needs from an index; implemented by every backend."""

    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Insert vectors under `ids` (int64); an id already present is replaced."""

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids; unknown ids are ignored."""

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        min_score: float | None = None,
        allowed: AllowedIds | None = None,
    ) -> list[tuple[int, float]]:
        """The `k` nearest ids with cosine similarity, best first."""

    def __len__(self) -> int: ...

    def save(self) -> None:
        """Persist (no-op for backends that keep nothing on disk)."""


# ---------------------------------------------------------------- helpers shared by backends


def normalise_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Float32 rows of unit length; a clear error for a wrong shape or a zero vector."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"expected vectors of dimension {dim}, got shape {np.shape(vectors)}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("a vector is zero or not finite: it has no direction to compare")
    return arr / norms


def fingerprints(vectors: np.ndarray) -> np.ndarray:
    """Per-row int64 taken from the first 8 bytes of the float32 vector, as stored in the
    catalog's BLOB; it changes when an embedding is recomputed, at no cost to read."""
    raw = np.ascontiguousarray(np.asarray(vectors, dtype="<f4"))
    if raw.ndim == 1:
        raw = raw[None, :]
    return raw[:, :2].copy().view("<i8").reshape(-1)


def as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if arr.size == 0:
        return np.empty(0, np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers, got {arr.dtype}")
    return arr.astype(np.int64).reshape(-1)


def checked_batch(
    ids: Iterable[int] | np.ndarray, vectors: np.ndarray, dim: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, raw float32 vectors, unit vectors) of one `add`, checked: one vector per id,
    no id twice, every vector of `dim` with a direction. Every backend's `add` starts here."""
    ids = as_ids(ids)
    if len(ids) == 0:
        empty = np.empty((0, dim), np.float32)
        return ids, empty, empty
    raw = np.asarray(vectors, dtype=np.float32)
    unit = normalise_rows(raw, dim)
    if len(ids) != len(unit):
        raise ValueError(f"{len(ids)} ids for {len(unit)} vectors")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("the same id appears twice in one add")
    return ids, raw, unit


def top_k(ids: np.ndarray, scores: np.ndarray, k: int,
          min_score: float | None) -> list[tuple[int, float]]:
    """Best `k` of (ids, scores), best first, at or above `min_score`."""
    if min_score is not None:
        keep = scores >= min_score
        ids, scores = ids[keep], scores[keep]
    if k <= 0 or len(scores) == 0:
        return []
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        ids, scores = ids[part], scores[part]
    order = np.argsort(-scores, kind="stable")
    return [(int(i), float(s)) for i, s in zip(ids[order], scores[order], strict=True)]


def _check_query(query: np.ndarray, dim: int) -> np.ndarray:
    return normalise_rows(query, dim)[0]


def _check_k(k: int) -> None:
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")


# ---------------------------------------------------------------- exact backend


class ExactIndex:
    """Brute force over an in-memory float32 matrix: exact, no build, no file.

    Used for small collections (where it is as fast as HNSW) and in tests as the reference.
    """

    backend = "exact"

    def __init__(self, dim: int) -> None:
        if dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = dim
        self._ids = np.empty(0, np.int64)
        self._vectors = np.empty((0, dim), np.float32)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, _, unit = checked_batch(ids, vectors, self.dim)
        self.remove(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, unit.astype(np.float32)])

    def remove(self, ids: Iterable[int]) -> None:
        gone = as_ids(ids)
        if len(gone) and len(self._ids):
            keep = ~np.isin(self._ids, gone)
            self._ids, self._vectors = self._ids[keep], self._vectors[keep]

    def search(self, query: np.ndarray, k: int, *, min_score: float | None = None,
               allowed: AllowedIds | None = None) -> list[tuple[int, float]]:
        _check_k(k)
        q = _check_query(query, self.dim)
        ids, vectors = self._ids, self._vectors
        if allowed is not None:
            keep = np.isin(ids, allowed_array(allowed))
            ids, vectors = ids[keep], vectors[keep]
        return top_k(ids, vectors @ q, k, min_score)

    def vectors(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their unit vectors), in index order."""
        keep = np.isin(self._ids, as_ids(ids))
        return self._ids[keep], self._vectors[keep]

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """Up to `count` stored unit vectors drawn at random (for `relevance.cutoff`)."""
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(self._ids), min(count, len(self._ids)), replace=False)
        return self._vectors[np.sort(pick)]

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def __len__(self) -> int:
        return len(self._ids)

    def save(self) -> None:
        """Nothing to write: the exact backend is rebuilt from the catalog when opened."""


def allowed_array(allowed: AllowedIds) -> np.ndarray:
    if isinstance(allowed, np.ndarray):
        return as_ids(allowed)
    return as_ids(list(allowed))


# ---------------------------------------------------------------- usearch (HNSW) backend


class IndexFileError(IlludexError):
    """An index file that cannot be used (unreadable, truncated, another dimension ...)."""


class HnswIndex:
    """usearch HNSW graph in one file, vectors stored as float16 (half the memory, same
    recall as float32 in bench/vector_index.py), metric inner product on unit vectors.

    Beside the index file a small manifest (`<name>.manifest.npz`) records each id's
    fingerprint, so `sync_with_catalog` can patch exactly what changed in the catalog.
    Opened files are memory-mapped (fast start, shared pages) until the first write.
    """

    backend = "usearch"
    CONNECTIVITY = 16
    EXPANSION_ADD = 128
    EXPANSION_SEARCH = 128  # recall@10 0.96 at 100 000 x 1024 (0.93 at 64)

    def __init__(self, dim: int, path: Path | None = None, *, dtype: str = "f16") -> None:
        from usearch.index import Index

        if dim <= 0:
            raise ValueError(f"dimension must be positive, got {dim}")
        self.dim = dim
        self.path = Path(path) if path is not None else None
        self.dtype = dtype
        self._index = Index(ndim=dim, metric="ip", dtype=dtype, connectivity=self.CONNECTIVITY,
                            expansion_add=self.EXPANSION_ADD,
                            expansion_search=self.EXPANSION_SEARCH)
        self._viewed = False
        self._fps: dict[int, int] = {}
        #: The catalog's embedding generation this index matches (None: unknown).
        self.generation: int | None = None

    # ---- persistence

    @property
    def manifest_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + ".manifest.npz")

    @classmethod
    def load(cls, path: Path, dim: int | None = None) -> HnswIndex:
        """Open `path` memory-mapped; IndexFileError when it or its manifest is unusable
        (or holds vectors of another dimension than `dim`, when given)."""
        from usearch.index import Index

        path = Path(path)
        self = cls.__new__(cls)
        self.path, self.generation = path, None
        try:
            meta = Index.metadata(str(path))
            if meta is None:
                raise IndexFileError(f"{path} is missing or not a usearch index")
            self.dim = dim = dim or int(meta["dimensions"])
            if meta["dimensions"] != dim:
                raise IndexFileError(f"{path} holds vectors of dimension {meta['dimensions']}, "
                                     f"the catalog {dim}")
            index = Index.restore(str(path), view=True)
            if index is None:
                raise IndexFileError(f"{path} is not a usearch index")
            self._index, self._viewed = index, True
            self.dtype = str(index.dtype).split(".")[-1].lower()
            self._fps = self._read_manifest(path, len(index))
        except IndexFileError:
            raise
        except Exception as exc:  # a damaged file can fail inside usearch in any way
            raise IndexFileError(f"{path} cannot be read: {exc}") from exc
        return self

    def _read_manifest(self, path: Path, count: int) -> dict[int, int]:
        try:
            with np.load(self.manifest_path, allow_pickle=False) as data:
                ids, fps = data["ids"], data["fps"]
                meta = json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexFileError(f"{self.manifest_path} cannot be read: {exc}") from exc
        # An interrupted save (new index, old manifest or the reverse) shows up as another
        # file size or another set of ids; a stale fingerprint alone only causes a re-add.
        if meta.get("size") != path.stat().st_size or len(ids) != count or len(fps) != count:
            raise IndexFileError(f"{self.manifest_path} does not belong to {path}")
        keys = np.sort(np.asarray(self._index.keys, np.int64))
        if not np.array_equal(keys, np.sort(ids)):
            raise IndexFileError(f"{self.manifest_path} lists other ids than {path}")
        self.generation = meta.get("generation")
        return dict(zip(ids.tolist(), fps.tolist(), strict=True))

    def save(self) -> None:
        """Write index then manifest, each to a temporary name renamed into place."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._index.save(str(tmp))
        os.replace(tmp, self.path)
        stat = self.path.stat()
        ids = np.fromiter(self._fps.keys(), np.int64, len(self._fps))
        fps = np.fromiter(self._fps.values(), np.int64, len(self._fps))
        meta = json.dumps({"size": stat.st_size, "dim": self.dim, "dtype": self.dtype,
                           "generation": self.generation})
        tmp_manifest = self.manifest_path.with_name(f".{self.manifest_path.name}.tmp.npz")
        np.savez(tmp_manifest, ids=ids, fps=fps, meta=np.array(meta))
        os.replace(tmp_manifest, self.manifest_path)

    def _writable(self) -> None:
        """A memory-mapped index is read-only: load it into memory before the first write."""
        if self._viewed:
            from usearch.index import Index

            self._index = Index.restore(str(self.path), view=False)
            self._viewed = False

    # ---- changes

    def add(self, ids: np.ndarray, vectors: np.ndarray, *,
            progress: ProgressCallback | None = None) -> None:
        """Insert (replacing ids already present); `progress` is called as the
        graph grows (a 100 000 x 1024 build takes minutes on two cores)."""
        ids, raw, unit = checked_batch(ids, vectors, self.dim)
        if len(ids) == 0:
            return
        self._writable()
        self.remove(ids)
        self.generation = None  # changed outside `open_index`: no longer known to match
        self._index.add(ids, unit, threads=0, progress=_usearch_progress(progress))
        self._fps.update(zip(ids.tolist(), fingerprints(raw).tolist(), strict=True))

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids (usearch marks them deleted; a rebuild reclaims the space)."""
        gone = [i for i in as_ids(ids).tolist() if i in self._fps]
        if not gone:
            return
        self._writable()
        self.generation = None
        self._index.remove(np.array(gone, np.int64))
        for i in gone:
            del self._fps[i]

    # ---- queries

    def search(self, query: np.ndarray, k: int, *, min_score: float | None = None,
               allowed: AllowedIds | None = None) -> list[tuple[int, float]]:
        _check_k(k)
        q = _check_query(query, self.dim)
        if k == 0 or len(self) == 0:
            return []
        if allowed is None:
            return self._ann(q, min(k, len(self)), min_score)
        wanted = allowed_array(allowed)
        wanted = wanted[self._present(wanted)]
        if len(wanted) <= EXACT_ALLOWED_MAX:
            return self._exact_within(q, wanted, k, min_score)
        return self._overfetch(q, k, min_score, wanted)

    def _ann(self, q: np.ndarray, count: int, min_score: float | None) -> list[tuple[int, float]]:
        self._index.expansion_search = max(self.EXPANSION_SEARCH, count)
        found = self._index.search(q, count, threads=1)
        scores = np.clip(1.0 - np.asarray(found.distances, np.float64), -1.0, 1.0)  # f16 error
        return top_k(np.asarray(found.keys, np.int64), scores, count, min_score)

    def _overfetch(self, q: np.ndarray, k: int, min_score: float | None,
                   wanted: np.ndarray) -> list[tuple[int, float]]:
        """ANN for OVERFETCH * k / share neighbours, keep the allowed ones; widen until k
        are found."""
        allowed_set = set(wanted.tolist())
        fetch = int(np.ceil(OVERFETCH * k * len(self) / len(wanted)))
        while True:
            fetch = min(fetch, len(self))
            hits = [(i, s) for i, s in self._ann(q, fetch, None) if i in allowed_set]
            if len(hits) >= k or fetch == len(self):
                break
            fetch *= 4
        if len(hits) < min(k, len(wanted)):  # the graph missed some: be exact instead
            return self._exact_within(q, wanted, k, min_score)
        return [(i, s) for i, s in hits[:k] if min_score is None or s >= min_score]

    def _exact_within(self, q: np.ndarray, wanted: np.ndarray, k: int,
                      min_score: float | None) -> list[tuple[int, float]]:
        if len(wanted) == 0:
            return []
        vectors = np.stack(self._index.get(wanted, dtype="f32"))
        return top_k(wanted, np.clip(vectors @ q, -1.0, 1.0), k, min_score)

    def _present(self, ids: np.ndarray) -> np.ndarray:
        return np.fromiter((i in self._fps for i in ids.tolist()), bool, len(ids))

    def vectors(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, their unit vectors as float32)."""
        wanted = as_ids(ids)
        wanted = wanted[self._present(wanted)]
        if len(wanted) == 0:
            return wanted, np.empty((0, self.dim), np.float32)
        return wanted, np.stack(self._index.get(wanted, dtype="f32"))

    def sample(self, count: int, seed: int = 0) -> np.ndarray:
        """Up to `count` stored unit vectors drawn at random (for `relevance.cutoff`)."""
        ids = self.ids()
        pick = np.random.default_rng(seed).choice(len(ids), min(count, len(ids)), replace=False)
        return self.vectors(ids[np.sort(pick)])[1]

    def ids(self) -> np.ndarray:
        return np.fromiter(self._fps.keys(), np.int64, len(self._fps))

    def fingerprints(self) -> dict[int, int]:
        return dict(self._fps)

    def __len__(self) -> int:
        return len(self._fps)


def _usearch_progress(progress: ProgressCallback | None) -> Callable[[int, int], bool] | None:
    """usearch checks the callback's annotations, so wrap the caller's in a typed one."""
    if progress is None:
        return None

    def report(done: int, total: int) -> bool:
        notify(progress, "index", done, total)
        return True

    # Real types, not the strings `from __future__ import annotations` leaves behind.
    report.__annotations__ = {"done": int, "total": int, "return": bool}
    return report


# ---------------------------------------------------------------- the catalog side




class Fingerprinted(VectorIndex, Protocol):
    """A persistent backend that remembers each id's fingerprint (usearch, Milvus)."""

    def fingerprints(self) -> dict[int, int]: ...


def sync_with_catalog(index: Fingerprinted, conn: sqlite3.Connection, model: str,
                      catalog: dict[int, int] | None = None) -> tuple[int, int]:
    """Patch `index` to match the catalog: (added, removed). Anything whose fingerprint
    differs is re-added; ids gone from the catalog are removed."""
    if catalog is None:
        catalog, _ = embedding_rows.fingerprints(conn, model)
    have = index.fingerprints()
    gone = [i for i in have if i not in catalog]
    changed = [i for i, fp in catalog.items() if have.get(i) != fp]
    index.remove(gone)
    for ids, vectors in embedding_rows.batches(conn, model, index.dim, changed):
        index.add(ids, vectors)
    return len(changed), len(gone)


def build_from_catalog(index: ExactIndex | HnswIndex, conn: sqlite3.Connection,
                       model: str, progress: ProgressCallback | None = None) -> None:
    """Fill an empty index with every embedding of `model` (one add: the graph builds in
    parallel)."""
    batches = list(embedding_rows.batches(conn, model, index.dim))
    if not batches:
        return
    ids, vecs = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    if isinstance(index, HnswIndex):
        index.add(ids, vecs, progress=progress)
    else:
        index.add(ids, vecs)
        notify(progress, "index", len(ids), len(ids))


def index_path(library_dir: str | Path, model: str) -> Path:
    """LIBDIR/index/<model>.usearch, the model name made safe as a file name."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model).strip(".") or "model"
    return Path(library_dir) / "index" / f"{safe}.usearch"


def open_index(library_dir: str | Path, conn: sqlite3.Connection, model: str, *,
               exact_max: int = EXACT_MAX_VECTORS,
               progress: ProgressCallback | None = None) -> ExactIndex | HnswIndex:
    """The vector index of `model`'s embeddings, in sync with the catalog.

    Small collections (<= `exact_max`) get an exact in-memory index read from the catalog.
    Larger ones use the usearch file `index_path(library_dir, model)`: loaded as it is when
    its manifest records the catalog's current embedding generation (one row read), else
    patched with what changed in the catalog since it was saved, or rebuilt (with a warning)
    when it is missing, unreadable or more than `REBUILD_SHARE` out of date. A bad index
    file never fails this: it is rebuilt. `progress` reports a (re)build.
    """
    path = index_path(library_dir, model)
    with transaction(conn):  # one snapshot: the generation and the rows agree
        generation = embedding_rows.generation(conn, model)
        if generation is not None and path.exists():
            current = _load_or_none(path, None)
            if current is not None and current.generation == generation:
                return current  # the fast path: nothing changed since the file was saved
        catalog, dim = embedding_rows.fingerprints(conn, model)
        if len(catalog) <= exact_max:
            exact = ExactIndex(dim or 1)
            if catalog:
                build_from_catalog(exact, conn, model, progress)
            return exact
        index, changed = _patched_or_rebuilt(_load_or_none(path, dim), conn, model, catalog,
                                             dim, path, progress)
        if changed or index.generation != generation:
            index.generation = generation
            index.save()
        return index


def _patched_or_rebuilt(index: HnswIndex | None, conn: sqlite3.Connection, model: str,
                        catalog: dict[int, int], dim: int, path: Path,
                        progress: ProgressCallback | None) -> tuple[HnswIndex, bool]:
    """(index matching `catalog`, whether anything had to change)."""
    if index is not None and _share_changed(index, catalog) <= REBUILD_SHARE:
        added, removed = sync_with_catalog(index, conn, model, catalog)
        if added or removed:
            log.info("vector index %s: %d added, %d removed to match the catalog",
                     path, added, removed)
        return index, bool(added or removed)
    if index is not None:
        log.warning("vector index %s is out of date with the catalog: rebuilding", path)
    index = HnswIndex(dim, path)
    build_from_catalog(index, conn, model, progress)
    return index, True


def _load_or_none(path: Path, dim: int) -> HnswIndex | None:
    if not path.exists():
        log.info("vector index %s does not exist yet: building it from the catalog", path)
        return None
    try:
        return HnswIndex.load(path, dim)
    except IndexFileError as exc:
        log.warning("vector index unusable (%s): rebuilding it from the catalog", exc)
        return None


def _share_changed(index: HnswIndex, catalog: dict[int, int]) -> float:
    have = index.fingerprints()
    differ = sum(1 for i, fp in catalog.items() if have.get(i) != fp)
    differ += sum(1 for i in have if i not in catalog)
    return differ / max(1, len(catalog))
