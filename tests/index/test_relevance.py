"""The relevance cut-off: where search results stop being related."""

from __future__ import annotations

import numpy as np
import pytest

from illudex.index.relevance import apply_cutoff, background_scores, cutoff, gap_cutoff
from illudex.index.vectors import ExactIndex


def test_background_rule_keeps_what_stands_out() -> None:
    rng = np.random.default_rng(0)
    background = rng.normal(0.30, 0.05, 500)  # what random pictures score against the query
    related = np.array([0.92, 0.85, 0.70, 0.55])
    unrelated = rng.normal(0.30, 0.05, 40)
    threshold = cutoff(np.concatenate([related, unrelated]), background=background)
    assert threshold == pytest.approx(0.30 + 3 * 0.05, abs=0.02)
    kept = np.concatenate([related, unrelated])
    kept = kept[kept >= threshold]
    assert set(related) <= set(kept) and len(kept) <= len(related) + 1


def test_background_rule_adapts_to_a_collection_close_to_everything() -> None:
    scores = np.array([0.95, 0.93, 0.90, 0.88])
    assert cutoff(scores, background=np.full(100, 0.2) + np.linspace(0, 0.1, 100)) < 0.5
    tight = cutoff(scores, background=np.full(100, 0.85) + np.linspace(0, 0.04, 100))
    assert 0.88 < tight < 0.93  # everything is near: only the clear winners pass


def test_absolute_floor_wins_when_stricter() -> None:
    scores = np.linspace(0.9, 0.1, 30)
    assert cutoff(scores, min_score=0.6) == 0.6
    assert cutoff(scores, min_score=0.1, background=np.full(50, 0.5)) == pytest.approx(0.5)


def test_gap_rule_cuts_a_cliff_down_to_a_plateau() -> None:
    related = [0.91, 0.88, 0.86, 0.83]
    plateau = list(np.linspace(0.45, 0.40, 20))
    assert gap_cutoff(np.array(related + plateau)) == pytest.approx(0.83)
    assert cutoff(np.array(plateau + related)) == pytest.approx(0.83)  # order does not matter


def test_gap_rule_leaves_a_smooth_slope_alone() -> None:
    assert cutoff(np.linspace(0.9, 0.3, 25)) == float("-inf")
    # one near-duplicate far above a gently falling tail: the tail is still related
    assert cutoff(np.array([0.99, *np.linspace(0.82, 0.60, 20)])) == float("-inf")
    # a single straggler at the bottom is no plateau
    assert cutoff(np.array([*np.linspace(0.9, 0.8, 10), 0.5])) == float("-inf")


def test_too_few_scores_cut_nothing() -> None:
    assert cutoff(np.array([0.9, 0.2])) == float("-inf")
    assert cutoff(np.array([])) == float("-inf")
    assert cutoff(np.array([0.9, 0.2]), min_score=0.3) == 0.3
    small_background = np.full(5, 0.8)  # too small a sample to trust: gap rule instead
    assert cutoff(np.array([0.9, 0.2]), background=small_background) == float("-inf")


def test_background_scores_from_an_index_and_applied(vx) -> None:
    data = vx.clustered(400)
    index = ExactIndex(vx.DIM)
    index.add(np.arange(400), data)
    query = data[0]
    background = background_scores(index, query, count=200)
    assert background is not None and background.shape == (200,)
    results = index.search(query, 60)
    threshold = cutoff(np.array([s for _, s in results]), background=background)
    kept = apply_cutoff(results, threshold)
    assert 1 <= len(kept) < len(results)
    assert kept[0][0] == 0 and all(s >= threshold for _, s in kept)
    tiny = ExactIndex(vx.DIM)
    tiny.add(np.arange(5), data[:5])
    assert background_scores(tiny, query) is None
