"""Where similarity stops meaning anything: a relevance cut-off for search results.

A nearest-neighbour search always returns k results, related or not; a page of search
results should stop where the related pictures stop. `cutoff` picks that score.
"""

from __future__ import annotations

import numpy as np

#: Background rule: a result must beat the unrelated scores' mean by this many std devs
#: (z = 3 lets through ~0.1 % of unrelated pictures if their scores were normal).
BACKGROUND_Z = 3.0
#: Gap rule: a drop between consecutive scores smaller than this is never a boundary.
MIN_GAP = 0.05
#: Gap rule: the drop must be this many times the spread of the scores below it (a flat
#: plateau of unrelated pictures under a cliff; a smooth slope has no boundary).
GAP_OVER_TAIL = 1.5
#: Gap rule: at least this many scores must lie under the drop (a plateau, not a straggler).
MIN_TAIL = 3
MIN_BACKGROUND = 20


def cutoff(scores: np.ndarray, *, min_score: float | None = None,
           background: np.ndarray | None = None, z: float = BACKGROUND_Z) -> float:
    """The lowest score still worth showing; keep results with score >= the value returned.

    Rules, the strictest wins:

    1. Absolute floor: `min_score` (a per-model constant: below it a picture is unrelated
       whatever the rest of the collection looks like). None: no floor.
    2. Adaptive, from the collection: with `background` (scores of the same query against
       a random sample of the collection, at least 20, e.g. from `background_scores`), the
       cut-off is median + z * robust std (1.4826 MAD) of the background: a result
       must stand out from what a random picture of this collection scores against this
       query (robust, because a small collection's sample holds the query's own near
       duplicates). This adapts to the
       query (some queries are close to everything) and to the collection (a library of
       one character scores high throughout).
    3. Adaptive, from the results alone (only when no background is given): the sorted
       `scores` are cut below the largest drop that is at least `MIN_GAP` and at least
       `GAP_OVER_TAIL` times the spread of the (at least `MIN_TAIL`) scores under it: a
       cliff down to a plateau of unrelated pictures. A smooth slope has no such drop and
       is not cut, so a lone near-duplicate above a gently falling tail of similar
       pictures keeps the tail.

    Returns -inf when no rule applies (nothing to cut).
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    values = np.sort(values[np.isfinite(values)])[::-1]
    rules = [float(min_score)] if min_score is not None else []
    if background is not None and np.size(background) >= MIN_BACKGROUND:
        bg = np.asarray(background, dtype=np.float64).reshape(-1)
        # Median and MAD rather than mean and std: a small collection's sample holds the
        # query's own near-duplicates, which would otherwise lift the bar above them.
        centre = float(np.median(bg))
        spread = 1.4826 * float(np.median(np.abs(bg - centre)))
        rules.append(centre + z * spread)
    else:
        rules.append(gap_cutoff(values))
    return max(rules)


def gap_cutoff(sorted_desc: np.ndarray) -> float:
    """Rule 3 of `cutoff`: the score just above the decisive drop, or -inf."""
    if len(sorted_desc) < MIN_TAIL + 1:
        return float("-inf")
    drops = sorted_desc[:-1] - sorted_desc[1:]
    tail_spread = sorted_desc[1:] - sorted_desc[-1]  # spread under each drop
    tail_count = np.arange(len(drops), 0, -1)  # how many scores lie under each drop
    decisive = ((drops >= MIN_GAP) & (drops >= GAP_OVER_TAIL * tail_spread)
                & (tail_count >= MIN_TAIL))
    if not decisive.any():
        return float("-inf")
    at = int(np.argmax(np.where(decisive, drops, -1.0)))
    return float(sorted_desc[at])


def background_scores(index: object, query: np.ndarray, count: int = 512,
                      seed: int = 0) -> np.ndarray | None:
    """Scores of `query` against a random sample of the index's vectors (rule 2 of
    `cutoff`); None when the backend cannot sample or the collection is too small."""
    sample = getattr(index, "sample", None)
    if sample is None or len(index) < MIN_BACKGROUND:  # type: ignore[arg-type]
        return None
    vectors = sample(count, seed)
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(q))
    if norm == 0 or len(vectors) < MIN_BACKGROUND:
        return None
    return vectors @ (q / norm)


def apply_cutoff(results: list[tuple[int, float]], threshold: float) -> list[tuple[int, float]]:
    """Results (best first) that reach `threshold`."""
    return [(i, s) for i, s in results if s >= threshold]
