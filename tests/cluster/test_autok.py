"""Choosing k: every criterion finds the true k on clear data; wide ranges search smartly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from illudex.cluster.algorithms import make_fitter, validate_params
from illudex.cluster.autok import (
    CRITERIA,
    KScore,
    best_k,
    choose_k,
    default_k_range,
    score_clustering,
)


def _blobs(k: int, per: int = 25, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=20.0, size=(k, 4))
    return (np.repeat(centres, per, axis=0) + rng.normal(size=(k * per, 4))).astype(np.float32)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_each_criterion_finds_four_blobs(criterion: str) -> None:
    X = _blobs(4)
    fitter = make_fitter("kmeans", X, validate_params("kmeans", {}), seed=0, k_max=9)
    best, scores = choose_k(fitter.labels, X, (2, 9), criterion, sample=1000, seed=0)
    assert best == 4
    assert [s.k for s in scores] == list(range(2, 10))  # small range: every k tried


def test_wide_range_is_searched_coarse_to_fine() -> None:
    X = _blobs(23, per=8)
    fitter = make_fitter("kmeans", X, validate_params("kmeans", {}), seed=0, k_max=60)
    tried: list[int] = []

    def labels_for(k: int) -> np.ndarray:
        tried.append(k)
        return fitter.labels(k)

    best, scores = choose_k(labels_for, X, (2, 60), "silhouette", sample=2000, seed=0)
    assert best == 23
    assert len(tried) < 25  # far fewer fits than the 59 values in the range
    assert len(tried) == len(set(tried)) == len(scores)


def test_scores_on_a_sample_and_undefined_cases() -> None:
    X = _blobs(3, per=400)
    labels = np.repeat(np.arange(3), 400)
    sampled = score_clustering(X, labels, 3, sample=300, seed=0)
    full = score_clustering(X, labels, 3, sample=5000, seed=0)
    assert sampled.silhouette == pytest.approx(full.silhouette, abs=0.05)
    one = score_clustering(X, np.zeros(len(X), dtype=int), 1, sample=300, seed=0)
    assert math.isnan(one.silhouette) and one.as_dict()["silhouette"] is None


def test_best_k_direction_ties_and_nan() -> None:
    nan = float("nan")
    scores = [KScore(2, 2, 0.5, 1.0, 10.0), KScore(3, 3, 0.5, 0.5, 30.0),
              KScore(4, 4, nan, nan, nan)]
    assert best_k(scores, "silhouette") == 2  # tie: the smaller k
    assert best_k(scores, "davies_bouldin") == 3  # lower is better
    assert best_k(scores, "calinski_harabasz") == 3


def test_default_range_grows_with_the_set() -> None:
    assert default_k_range(5) == (2, 4)
    assert default_k_range(36) == (2, 12)
    assert default_k_range(1_000_000) == (2, 100)
