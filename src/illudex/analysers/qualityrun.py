"""Score catalog pictures with an aesthetic model and keep the scores in model_results.

Rows are keyed by the picture's digest, kind "quality" and the recipe (the model's source,
as the `min-quality` dataset step writes it too): the same bytes are scored once, a rerun
skips what this model scored, and search reads the latest score (`quality:>=0.7`).
Pictures are decoded in worker processes ahead of the model (`prepare_many`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from illudex.analysers.quality import QualityScorer, raw_score
from illudex.analysers.runner import RunSummary
from illudex.catalog import modelresults
from illudex.progress import ProgressCallback, notify

BATCH = 16


def quality_recipe(model: str) -> str:
    """The recipe rows are stored under: the model's source (a name, or an absolute path)."""
    from illudex.models.registry import model_source

    return json.dumps([model_source(str(model))])


def records(scorer: QualityScorer, arrays: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """What is stored per picture: the quality (0..1), the raw score (0..6), the best label."""
    out = []
    for probs in scorer.classifier.scores_prepared(arrays):
        out.append({"quality": round(scorer.from_probabilities(probs), 4),
                    "raw": round(raw_score(probs), 4),
                    "label": max(probs, key=probs.__getitem__)})
    return out


def result(digest: str, record: dict[str, Any]) -> modelresults.Result:
    return modelresults.Result(digest, record, label=record.get("label"))


def score_pictures(conn: sqlite3.Connection, pictures: Sequence[tuple[str, str]],
                   scorer: QualityScorer, model: str, *, workers: int = 0,
                   rerun: bool = False, progress: ProgressCallback | None = None) -> RunSummary:
    """Score `pictures` ((path, digest) pairs), storing each batch as it finishes."""
    recipe = quality_recipe(model)
    summary = RunSummary(scorer.name, total=len(pictures))
    done = set() if rerun else modelresults.scored_digests(conn, recipe)
    todo = list({d: p for p, d in pictures if d not in done}.items())  # one per digest
    summary.skipped = len(pictures) - len(todo)
    started = time.perf_counter()
    for digests, arrays in _batches(todo, scorer, workers, summary, progress):
        found = records(scorer, arrays)
        modelresults.store(conn, modelresults.QUALITY_KIND, recipe, str(model),
                           (result(d, r) for d, r in zip(digests, found, strict=True)))
        summary.done += len(digests)
        _report(progress, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _batches(todo: list[tuple[str, str]], scorer: QualityScorer, workers: int,
             summary: RunSummary, progress: ProgressCallback | None
             ) -> Iterator[tuple[list[str], list[np.ndarray]]]:
    """(digests, prepared inputs) per batch; unreadable files go to `summary.errors`."""
    from illudex.analysers.modelprep import prepare_many

    digests: list[str] = []
    arrays: list[np.ndarray] = []
    prepared = prepare_many([p for _, p in todo], scorer.classifier.prep, workers)
    for (digest, path), (value, _size, error) in zip(todo, prepared, strict=True):
        if error:
            summary.errors.append((path, error))
            _report(progress, summary)
            continue
        digests.append(digest)
        arrays.append(value)
        if len(digests) == BATCH:
            yield digests, arrays
            digests, arrays = [], []
    if digests:
        yield digests, arrays


def _report(progress: ProgressCallback | None, summary: RunSummary) -> None:
    notify(progress, "quality", summary.done + summary.skipped + len(summary.errors),
           summary.total)
