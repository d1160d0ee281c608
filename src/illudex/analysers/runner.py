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
from illudex.catalog import embeddings, imagetags, modelruns
from illudex.catalog.images import existing_ids
from illudex.catalog.tagrows import tag_ids
from illudex.catalog.transaction import transaction
from illudex.models.sessions import uses_gpu
from illudex.progress import ProgressCallback, notify

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
    progress: ProgressCallback | None = None,
    on_result: Callable[[TagResult], None] | None = None,
    workers: int | None = None,
) -> TagSummary:
    """Tag `images` ((catalog id, path) pairs) with `tagger`, storing tags and embeddings."""
    options = options or TagOptions()
    summary = RunSummary(tagger.name, total=len(images))
    todo = images if options.rerun else pending(conn, images, tagger.name, "tags")
    summary.skipped = len(images) - len(todo)
    batch_size = options.batch_size or tagger.default_batch
    n_workers = _default_workers(uses_gpu(tagger.session)) if workers is None else workers
    started = time.perf_counter()
    for ids, paths, pixels in _batches(todo, tagger.preprocess, batch_size, n_workers, summary,
                                       progress, "tag"):
        scores, feats = tagger.predict(pixels)
        results = tagger.results(scores, feats, paths, options)
        commit_tags(conn, tagger, ids, results, options, summary, on_result, progress)
    summary.seconds = time.perf_counter() - started
    return summary


def embed_images(
    conn: sqlite3.Connection,
    images: Sequence[tuple[int, str]],
    clip_model: ClipModel,
    *,
    progress: ProgressCallback | None = None,
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
                                        progress, "embed"):
        commit_vectors(conn, clip_model.name, ids, clip_model.embed_batch(pixels), summary,
                       progress)
    summary.seconds = time.perf_counter() - started
    return summary


def commit_tags(conn: sqlite3.Connection, tagger: WDTagger, ids: Sequence[int],
                results: Sequence[TagResult], options: TagOptions, summary: RunSummary,
                on_result: Callable[[TagResult], None] | None,
                progress: ProgressCallback | None) -> None:
    """One tagged batch's last step, whichever engine ran the model: store, count, report."""
    store_tags(conn, tagger, model_source(tagger.name), ids, results, options.store_embeddings)
    summary.done += len(ids)
    if on_result:
        for result in results:
            on_result(result)
    report(progress, summary, "tag")


def commit_vectors(conn: sqlite3.Connection, model: str, ids: Sequence[int],
                   vectors: np.ndarray, summary: RunSummary,
                   progress: ProgressCallback | None) -> None:
    """One embedded batch's last step, whichever engine ran the model."""
    store_vectors(conn, model, ids, vectors)
    summary.done += len(ids)
    report(progress, summary, "embed")


def model_source(model_name: str) -> str:
    return f"model:{model_name}"


def pending(
    conn: sqlite3.Connection, images: Sequence[tuple[int, str]], model: str, kind: str
) -> list[tuple[int, str]]:
    """The images `model` has not yet done `kind` for."""
    done = modelruns.done_ids(conn, model, kind)
    return [item for item in images if item[0] not in done]


def store_tags(
    conn: sqlite3.Connection, tagger: WDTagger, source: str, ids: Sequence[int],
    results: Sequence[TagResult], store_embeddings: bool = True,
) -> None:
    """Replace this model's tags for `ids` (other sources untouched); one transaction."""
    with transaction(conn, immediate=True):
        live = existing_ids(conn, ids)
        rows = [(i, r) for i, r in zip(ids, results, strict=True) if i in live]
        names: dict[str, str] = {}
        for _, result in rows:
            names.update({n: tagger.category_of(n) for n in (*result.general, *result.character)})
            if result.top_rating:
                names[RATING_PREFIX + result.top_rating] = CATEGORY_NAMES[9]
        id_of = _tag_ids_by_category(conn, names)
        imagetags.replace_source(
            conn, source, [i for i, _ in rows],
            ((i, id_of[name], score) for i, r in rows for name, score in _scored(r)))
        kinds: tuple[str, ...] = ("tags",)
        vectors = [(i, r.embedding) for i, r in rows if r.embedding is not None]
        if store_embeddings and vectors:
            embeddings.store(conn, tagger.name, vectors)
            kinds = ("tags", "embedding")
        modelruns.mark_done(conn, [i for i, _ in rows], tagger.name, kinds)


def store_vectors(conn: sqlite3.Connection, model: str, ids: Sequence[int],
                  vectors: np.ndarray) -> None:
    """Store one batch of `model`'s embeddings (pictures removed meanwhile skipped) and
    mark them done; one transaction."""
    with transaction(conn, immediate=True):
        live = existing_ids(conn, ids)
        rows = [(i, v) for i, v in zip(ids, vectors, strict=True) if i in live]
        embeddings.store(conn, model, rows)
        modelruns.mark_done(conn, [i for i, _ in rows], model, ("embedding",))


def stored_result(
    conn: sqlite3.Connection, image_id: int, path: str, model: str
) -> TagResult:
    """A `TagResult` rebuilt from the catalog (for `--json` on images a rerun skipped)."""
    result = TagResult(path=path)
    for name, category, score in imagetags.of_source(conn, image_id, model_source(model)):
        if category == "rating" and name.startswith(RATING_PREFIX):
            result.rating[name[len(RATING_PREFIX):]] = score
        elif category == "character":
            result.character[name] = score
        else:
            result.general[name] = score
    return result


def load_embeddings(conn: sqlite3.Connection, model: str) -> tuple[np.ndarray, np.ndarray]:
    """(image ids [N], vectors [N, dim] float32) stored for `model`."""
    return embeddings.load(conn, model)


# --- the pipeline -------------------------------------------------------------------------


def _default_workers(gpu: bool) -> int:
    """CPU inference takes the cores (ORT threads); one decode worker hides decoding behind it.
    On a GPU decoding is the bottleneck: every core but one decodes."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return max(1, cores - 1) if gpu else max(1, cores // 4)


def _batches(
    items: Sequence[tuple[int, str]], prep: Preprocess, batch_size: int, workers: int,
    summary: RunSummary, progress: ProgressCallback | None, stage: str,
) -> Iterator[tuple[list[int], list[str], np.ndarray]]:
    """Prepared batches in input order; decode errors go to `summary.errors`."""
    ids: list[int] = []
    paths: list[str] = []
    pixels: list[np.ndarray] = []
    for image_id, path, array, error in _prepared(items, prep, workers, batch_size):
        if array is None:
            summary.errors.append((path, error))
            report(progress, summary, stage, path)
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


def report(progress: ProgressCallback | None, summary: RunSummary, stage: str,
            current: str = "") -> None:
    notify(progress, stage, summary.done + len(summary.errors),
           summary.total - summary.skipped, current)
