"""The batch pipeline: decode in worker processes, infer in batches, store in the catalog.

Decoding + preprocessing run in a process pool, submitted ahead of inference (bounded
prefetch), so while ONNX Runtime works on one batch the next is being decoded: the
slowest stage sets the pace. Each finished batch is committed in its own transaction, so
an interrupted run keeps every batch it finished; `model_runs` makes a rerun skip them.
One unreadable file is an entry in `errors`, never the end of the run.

Catalog rows written (source `model:NAME`):
- tags: kept general/character tags with their scores; the top rating as `rating:NAME`.
- embeddings: L2-normalised float32 little-endian blobs (tagger and CLIP alike).
- model_runs: kind 'tags' / 'embedding' per (image, model).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from illudex.analysers.clip import ClipModel
from illudex.analysers.prefetch import in_order
from illudex.analysers.preprocess import Preprocess, prepare_file
from illudex.analysers.wd_tagger import (
    CATEGORY_NAMES,
    RATING_PREFIX,
    TagOptions,
    TagResult,
    WDTagger,
)
from illudex.catalog.tagrows import tag_ids
from illudex.models.sessions import uses_gpu

Progress = Callable[[int, int], None]  # (images finished so far, images to do)
Prepared = tuple[int, str, "np.ndarray | None", str]  # image id, path, pixels, error


@dataclass
class RunSummary:
    """What a run did: counts, per-file errors, time."""

    model: str
    total: int = 0  # images asked for
    done: int = 0  # images analysed and stored now
    skipped: int = 0  # already done by this model (model_runs)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0


TagSummary = RunSummary
EmbedSummary = RunSummary


def tag_images(
    conn: sqlite3.Connection,
    images: Sequence[tuple[int, str]],
    tagger: WDTagger,
    *,
    options: TagOptions | None = None,
    progress: Progress | None = None,
    on_result: Callable[[TagResult], None] | None = None,
    workers: int | None = None,
) -> TagSummary:
    """Tag `images` ((catalog id, path) pairs) with `tagger`, storing tags and embeddings."""
    options = options or TagOptions()
    source = model_source(tagger.name)
    summary = RunSummary(tagger.name, total=len(images))
    todo = images if options.rerun else pending(conn, images, tagger.name, "tags")
    summary.skipped = len(images) - len(todo)
    batch_size = options.batch_size or tagger.default_batch
    n_workers = _default_workers(uses_gpu(tagger.session)) if workers is None else workers
    started = time.perf_counter()
    for ids, paths, pixels in _batches(todo, tagger.preprocess, batch_size, n_workers, summary,
                                       progress):
        scores, feats = tagger.predict(pixels)
        results = tagger.results(scores, feats, paths, options)
        store_tags(conn, tagger, source, ids, results, options.store_embeddings)
        summary.done += len(ids)
        if on_result:
            for result in results:
                on_result(result)
        _report(progress, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def embed_images(
    conn: sqlite3.Connection,
    images: Sequence[tuple[int, str]],
    clip_model: ClipModel,
    *,
    progress: Progress | None = None,
    batch_size: int | None = None,
    rerun: bool = False,
    workers: int | None = None,
) -> EmbedSummary:
    """Embed `images` with a CLIP model's image encoder and store the vectors."""
    summary = RunSummary(clip_model.name, total=len(images))
    todo = images if rerun else pending(conn, images, clip_model.name, "embedding")
    summary.skipped = len(images) - len(todo)
    size = batch_size or clip_model.default_batch
    n_workers = _default_workers(uses_gpu(clip_model.visual)) if workers is None else workers
    started = time.perf_counter()
    for ids, _paths, pixels in _batches(todo, clip_model.preprocess, size, n_workers, summary,
                                        progress):
        vectors = clip_model.embed_batch(pixels)
        with _transaction(conn):
            live = _existing(conn, ids)
            rows = [(i, v) for i, v in zip(ids, vectors, strict=True) if i in live]
            _store_embeddings(conn, clip_model.name, rows)
            _mark_done(conn, [i for i, _ in rows], clip_model.name, ("embedding",))
        summary.done += len(ids)
        _report(progress, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def model_source(model_name: str) -> str:
    return f"model:{model_name}"


def pending(
    conn: sqlite3.Connection, images: Sequence[tuple[int, str]], model: str, kind: str
) -> list[tuple[int, str]]:
    """The images `model` has not yet done `kind` for."""
    done = {
        row[0] for row in conn.execute(
            "SELECT image_id FROM model_runs WHERE model = ? AND kind = ?", (model, kind)
        )
    }
    return [item for item in images if item[0] not in done]


def store_tags(
    conn: sqlite3.Connection, tagger: WDTagger, source: str, ids: Sequence[int],
    results: Sequence[TagResult], store_embeddings: bool = True,
) -> None:
    """Replace this model's tags for `ids` (other sources untouched); one transaction."""
    with _transaction(conn):
        live = _existing(conn, ids)
        rows = [(i, r) for i, r in zip(ids, results, strict=True) if i in live]
        names: dict[str, str] = {}
        for _, result in rows:
            names.update({n: tagger.category_of(n) for n in (*result.general, *result.character)})
            if result.top_rating:
                names[RATING_PREFIX + result.top_rating] = CATEGORY_NAMES[9]
        id_of = _tag_ids_by_category(conn, names)
        conn.executemany(
            "DELETE FROM image_tags WHERE image_id = ? AND source = ?",
            ((i, source) for i, _ in rows),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO image_tags (image_id, tag_id, source, score) "
            "VALUES (?, ?, ?, ?)",
            ((i, id_of[name], source, score) for i, r in rows for name, score in _scored(r)),
        )
        kinds: tuple[str, ...] = ("tags",)
        vectors = [(i, r.embedding) for i, r in rows if r.embedding is not None]
        if store_embeddings and vectors:
            _store_embeddings(conn, tagger.name, vectors)
            kinds = ("tags", "embedding")
        _mark_done(conn, [i for i, _ in rows], tagger.name, kinds)


def stored_result(
    conn: sqlite3.Connection, image_id: int, path: str, model: str
) -> TagResult:
    """A `TagResult` rebuilt from the catalog (for `--json` on images a rerun skipped)."""
    result = TagResult(path=path)
    rows = conn.execute(
        "SELECT t.name, t.category, it.score FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ? AND it.source = ? ORDER BY it.score DESC",
        (image_id, model_source(model)),
    )
    for name, category, score in rows:
        if category == "rating" and name.startswith(RATING_PREFIX):
            result.rating[name[len(RATING_PREFIX):]] = score
        elif category == "character":
            result.character[name] = score
        else:
            result.general[name] = score
    return result


def load_embeddings(conn: sqlite3.Connection, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(image ids [N], vectors [N, dim] float32) stored for `model`."""
    rows = conn.execute(
        "SELECT image_id, dim, vector FROM embeddings WHERE model = ? ORDER BY image_id", (model,)
    ).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    vectors = np.stack([np.frombuffer(r[2], dtype="<f4", count=r[1]) for r in rows])
    return ids, vectors


# --- the pipeline -------------------------------------------------------------------------


def _default_workers(gpu: bool) -> int:
    """CPU inference takes the cores (ORT threads); one decode worker hides decoding behind it.
    On a GPU decoding is the bottleneck: every core but one decodes."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return max(1, cores - 1) if gpu else max(1, cores // 4)


def _batches(
    items: Sequence[tuple[int, str]], prep: Preprocess, batch_size: int, workers: int,
    summary: RunSummary, progress: Progress | None,
) -> Iterator[tuple[list[int], list[str], np.ndarray]]:
    """Prepared batches in input order; decode errors go to `summary.errors`."""
    ids: list[int] = []
    paths: list[str] = []
    pixels: list[np.ndarray] = []
    for image_id, path, array, error in _prepared(items, prep, workers, batch_size):
        if array is None:
            summary.errors.append((path, error))
            _report(progress, summary)
            continue
        ids.append(image_id)
        paths.append(path)
        pixels.append(array)
        if len(ids) == batch_size:
            yield ids, paths, np.stack(pixels)
            ids, paths, pixels = [], [], []
    if ids:
        yield ids, paths, np.stack(pixels)


def _prepared(
    items: Sequence[tuple[int, str]], prep: Preprocess, workers: int, batch_size: int
) -> Iterator[Prepared]:
    tasks = ((image_id, path, prep) for image_id, path in items)
    if workers <= 0 or len(items) <= 1:
        yield from map(prepare_file, tasks)
        return
    ahead = 2 * batch_size + 2 * workers  # the next batch decodes while this one infers
    yield from in_order(prepare_file, tasks, workers, ahead)



# --- storage -----------------------------------------------------------------------------


class _transaction:
    """BEGIN IMMEDIATE … COMMIT on an autocommit connection; ROLLBACK on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite rolls back by itself on a full disk
            self.conn.execute("ROLLBACK")


def _existing(conn: sqlite3.Connection, ids: Sequence[int]) -> set[int]:
    """Ids still in the catalog (a file may be removed by a scan during a long run)."""
    marks = ",".join("?" * len(ids))
    return {r[0] for r in conn.execute(f"SELECT id FROM images WHERE id IN ({marks})", ids)}


def _tag_ids_by_category(conn: sqlite3.Connection, names: dict[str, str]) -> dict[str, int]:
    by_category: dict[str, list[str]] = {}
    for name, category in names.items():
        by_category.setdefault(category, []).append(name)
    out: dict[str, int] = {}
    for category, group in by_category.items():
        out.update(tag_ids(conn, group, category))
    return out


def _scored(result: TagResult) -> Iterator[tuple[str, float]]:
    yield from result.general.items()
    yield from result.character.items()
    if result.top_rating:
        yield RATING_PREFIX + result.top_rating, result.rating[result.top_rating]


def _store_embeddings(
    conn: sqlite3.Connection, model: str, rows: Sequence[tuple[int, np.ndarray]]
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO embeddings (image_id, model, dim, vector) VALUES (?, ?, ?, ?)",
        ((i, model, int(v.shape[-1]), np.asarray(v, dtype="<f4").tobytes()) for i, v in rows),
    )


def _mark_done(
    conn: sqlite3.Connection, ids: Sequence[int], model: str, kinds: Sequence[str]
) -> None:
    now = time.time()
    conn.executemany(
        "INSERT OR REPLACE INTO model_runs (image_id, model, kind, at) VALUES (?, ?, ?, ?)",
        ((i, model, kind, now) for i in ids for kind in kinds),
    )


def _report(progress: Progress | None, summary: RunSummary) -> None:
    if progress is not None:
        progress(summary.done + len(summary.errors), summary.total - summary.skipped)
