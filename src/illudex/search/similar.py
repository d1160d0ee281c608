"""Similarity terms of a query (`similar:`, `text:`) run against the vector index, then
combined with the tag and metatag part as a filter, with a relevance cut-off.

A similarity term keeps only the pictures that stand out from the collection for that
query (`illudex.index.relevance.cutoff`: a per-term `~min` floor, the collection's own
background scores, and the largest gap), so an unrelated picture is never returned just
to fill a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from illudex.index import apply_cutoff, background_scores, cutoff
from illudex.search import SearchResult, SimilarityClause, execute, parse, plan
from illudex.search.executor import ALL_IMAGES, posting_lists

CANDIDATES = 1000  # nearest neighbours considered per similarity term
# At or above this similarity a picture is an obvious match (the query's own copy, or a
# light edit of it): the relevance cut-off trims the tail, never these. A collection
# whose background scores spread wide can put its cut-off above 1 otherwise, and a
# picture would not even find itself (docs/decisions.md).
OBVIOUS = 0.9


class SimilarityError(ValueError):
    """A similarity term that cannot run (no embeddings, unknown picture ...)."""


class VectorSource(Protocol):
    """What the library offers this module (kept as a protocol: no import cycle)."""

    conn: object

    def query_vector(self, clause: SimilarityClause) -> tuple[str, np.ndarray]: ...

    def vector_index(self, model: str) -> object: ...


def search_query(
    lib: VectorSource, query: str, *, limit: int | None = 100, offset: int = 0
) -> SearchResult:
    conn = lib.conn
    the_plan = plan(conn, parse(query))  # type: ignore[arg-type]
    if not the_plan.similarity:
        return execute(conn, the_plan, limit=limit, offset=offset)  # type: ignore[arg-type]
    within: dict[int, float] | None = None
    excluded: set[int] = set()
    for clause in the_plan.similarity:
        hits = similarity_hits(lib, clause)
        if clause.negated:
            excluded.update(hits)
        elif within is None:
            within = hits
        else:  # both must hold; a picture is as similar as its weakest term
            within = {i: min(s, within[i]) for i, s in hits.items() if i in within}
    if within is None:
        everything = posting_lists(conn, [ALL_IMAGES])[ALL_IMAGES]  # type: ignore[arg-type]
        within = {int(i): 0.0 for i in everything}
    for image_id in excluded:
        within.pop(image_id, None)
    return execute(conn, the_plan, limit=limit, offset=offset, within=within)  # type: ignore


def similarity_hits(lib: VectorSource, clause: SimilarityClause) -> dict[int, float]:
    """Image id → similarity for the pictures that pass the term's relevance cut-off."""
    model, query = lib.query_vector(clause)
    index = lib.vector_index(model)
    kept = relevant(index, query, index.search(query, CANDIDATES),  # type: ignore[attr-defined]
                    min_score=clause.min_score)
    if clause.kind == "image" and isinstance(clause.target, int):
        kept = [(i, s) for i, s in kept if i != clause.target]
    return dict(kept)


def relevant(index: object, query: np.ndarray, results: list[tuple[int, float]],
             min_score: float | None = None) -> list[tuple[int, float]]:
    """The results (best first) that pass the relevance cut-off; obvious matches always
    do, unless the person asked for a stricter `min_score`."""
    if not results:
        return []
    scores = np.array([s for _, s in results], dtype=np.float32)
    threshold = min(cutoff(scores, min_score=min_score,
                           background=background_scores(index, query)), OBVIOUS)
    if min_score is not None:
        threshold = max(threshold, min_score)
    return apply_cutoff(results, threshold)


def rank(hits: Mapping[int, float]) -> list[tuple[int, float]]:
    return sorted(hits.items(), key=lambda item: (-item[1], item[0]))
