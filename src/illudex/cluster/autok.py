"""Choosing k: fit over a range, score each k, keep the best by one criterion.

Scores: silhouette (higher is better; on a sample for large sets), Davies–Bouldin
(lower is better) and Calinski–Harabasz (higher is better). Every k tried is reported.
Wide ranges are searched coarse-to-fine: a geometric grid first, then halving the gaps
around the best k until neighbours are one apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from illudex.progress import ProgressCallback, notify

CRITERIA = ("silhouette", "davies_bouldin", "calinski_harabasz")
_LOWER_IS_BETTER = {"davies_bouldin"}
_FULL_SEARCH_UP_TO = 24  # ranges with at most this many values are tried exhaustively
_GRID_POINTS = 12


@dataclass(frozen=True)
class KScore:
    """Scores of one clustering; NaN where a score is undefined (e.g. one cluster)."""

    k: int
    n_clusters: int
    silhouette: float
    davies_bouldin: float
    calinski_harabasz: float

    def as_dict(self) -> dict[str, float | int | None]:
        return {key: (None if isinstance(v, float) and math.isnan(v) else v)
                for key, v in asdict(self).items()}


def default_k_range(n_rows: int) -> tuple[int, int]:
    """2 .. about 2·√n, at least 10 and at most 100 (bounded by n − 1)."""
    high = max(10, min(100, round(2 * math.sqrt(n_rows))))
    return 2, max(2, min(high, n_rows - 1))


def score_clustering(
    X: np.ndarray | sp.csr_matrix, labels: np.ndarray, k: int, sample: int, seed: int
) -> KScore:
    """All three scores of `labels` on `X` (silhouette on at most `sample` rows)."""
    n_clusters = len(np.unique(labels))
    nan = float("nan")
    if n_clusters < 2 or n_clusters >= X.shape[0]:
        return KScore(k, n_clusters, nan, nan, nan)
    rows = _sample_rows(X.shape[0], sample, seed)
    Xs, ls = X[rows], labels[rows]
    sil = nan
    if 2 <= len(np.unique(ls)) < len(rows):
        sil = float(silhouette_score(Xs, ls))
    # DB and CH need dense rows: use the sample when the features are sparse.
    dense_X, dense_l = (Xs.toarray(), ls) if sp.issparse(X) else (X, labels)
    if len(np.unique(dense_l)) < 2:
        return KScore(k, n_clusters, sil, nan, nan)
    return KScore(
        k,
        n_clusters,
        sil,
        float(davies_bouldin_score(dense_X, dense_l)),
        float(calinski_harabasz_score(dense_X, dense_l)),
    )


def _sample_rows(n_rows: int, sample: int, seed: int) -> np.ndarray:
    if n_rows <= sample:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=sample, replace=False))


def choose_k(
    labels_for_k: Callable[[int], np.ndarray],
    X: np.ndarray | sp.csr_matrix,
    k_range: tuple[int, int],
    criterion: str,
    sample: int,
    seed: int,
    progress: ProgressCallback | None = None,
) -> tuple[int, list[KScore]]:
    """(best k, scores of every k tried, sorted by k)."""
    low, high = k_range
    scores: dict[int, KScore] = {}

    def evaluate(ks: list[int]) -> None:
        for k in ks:
            if k not in scores:
                scores[k] = score_clustering(X, labels_for_k(k), k, sample, seed)
                notify(progress, "choosing k", len(scores), None)  # k tried so far

    if high - low + 1 <= _FULL_SEARCH_UP_TO:
        evaluate(list(range(low, high + 1)))
    else:
        evaluate(_geometric_grid(low, high, _GRID_POINTS))
        _refine(evaluate, scores, criterion)
    best = best_k(list(scores.values()), criterion)
    return best, [scores[k] for k in sorted(scores)]


def _geometric_grid(low: int, high: int, points: int) -> list[int]:
    grid = np.geomspace(low, high, num=points)
    return sorted({round(float(v)) for v in grid} | {low, high})


def _refine(
    evaluate: Callable[[list[int]], None], scores: dict[int, KScore], criterion: str
) -> None:
    """Halve the gaps on both sides of the current best until they are one wide."""
    while True:
        tried = sorted(scores)
        best = best_k(list(scores.values()), criterion)
        at = tried.index(best)
        new = []
        if at > 0 and best - tried[at - 1] > 1:
            new.append((best + tried[at - 1]) // 2)
        if at < len(tried) - 1 and tried[at + 1] - best > 1:
            new.append((best + tried[at + 1]) // 2)
        if not new:
            return
        evaluate(new)


def best_k(scores: list[KScore], criterion: str) -> int:
    """The k whose score is best by `criterion` (ties: the smaller k); NaN never wins."""
    sign = -1.0 if criterion in _LOWER_IS_BETTER else 1.0
    valid = [s for s in scores if not math.isnan(getattr(s, criterion))]
    if not valid:
        return min(s.k for s in scores)
    return max(valid, key=lambda s: (sign * getattr(s, criterion), -s.k)).k
