"""Candidate search: exact and HNSW neighbours agree, and answers are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from illudex.dupes import candidates


def clustered(n_clusters: int = 60, per: int = 4, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    v = centres.repeat(per, axis=0) + 0.15 * rng.standard_normal((n_clusters * per, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_exact_neighbours_are_the_true_nearest_and_exclude_self() -> None:
    v = clustered()
    idx, sim = candidates.neighbours(v, k=3)
    assert idx.shape == (len(v), 3)
    for i in range(len(v)):
        assert i not in idx[i]
        same_cluster = {j for j in range(i - i % 4, i - i % 4 + 4) if j != i}
        assert set(idx[i]) == same_cluster
    assert np.all(np.diff(sim, axis=1) <= 1e-6)  # best first


def test_ties_go_to_the_lower_index() -> None:
    v = np.array([[1, 0], [1, 0], [1, 0], [0, 1]], np.float32)
    idx, _ = candidates.neighbours(v, k=2)
    assert idx[0].tolist() == [1, 2]
    assert idx[2].tolist() == [0, 1]


def test_hnsw_path_finds_what_exact_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    v = clustered(n_clusters=150)
    exact, _ = candidates.neighbours(v, k=3)
    monkeypatch.setattr(candidates, "EXACT_LIMIT", 10)
    approx, sims = candidates.neighbours(v, k=3)
    recall = np.mean([len(set(a) & set(e)) / 3 for a, e in zip(approx, exact, strict=True)])
    assert recall > 0.97
    assert np.all(sims <= 1.0001)
    again, _ = candidates.neighbours(v, k=3)
    assert np.array_equal(approx, again)  # single-threaded build: same graph every run


def test_candidate_pairs_are_unique_sorted_and_keep_the_best_similarity() -> None:
    v = clustered(n_clusters=20)
    w = clustered(n_clusters=20, seed=5)
    pairs, sims, ranks = candidates.candidate_pairs([v, w], k=3)
    assert np.all(pairs[:, 0] < pairs[:, 1])
    assert ranks.min() == 0 and ranks.max() <= 2
    keys = pairs[:, 0] * len(v) + pairs[:, 1]
    assert np.all(np.diff(keys) > 0)
    for (i, j), s in zip(pairs[:20], sims[:20], strict=True):
        assert s == pytest.approx(max(v[i] @ v[j], w[i] @ w[j]), abs=1e-5)


def test_flat_pictures_get_zero_vectors_not_nans() -> None:
    from illudex.dupes.features import Feature

    flat = Feature(np.full((48, 48), 200, np.uint8), np.zeros((24, 24, 2), np.int8),
                   np.full((16, 16), 200, np.uint8), (0.0, 0.0, 1.0, 1.0), None)
    vec = candidates.content_vectors([flat])
    assert np.all(vec == 0) and not np.isnan(vec).any()


def test_tiny_inputs() -> None:
    one = clustered()[:1]
    idx, _ = candidates.neighbours(one, k=5)
    assert idx.shape == (1, 0)
    pairs, _, _ = candidates.candidate_pairs([one], k=5)
    assert pairs.shape == (0, 2)


def test_each_half_of_the_content_is_a_space_of_its_own() -> None:
    from illudex.dupes.features import Feature

    light = np.full((48, 48), 250, np.uint8)
    light[:24, :] = np.tile(np.arange(48, dtype=np.uint8) * 5, (24, 1))  # a ramp on top
    top_only = Feature(light, np.zeros((24, 24, 2), np.int8), np.full((16, 16), 250, np.uint8),
                       (0.0, 0.0, 1.0, 1.0), (255, 255, 255))
    top, bottom, left, right = candidates.half_vectors(candidates.content_vectors([top_only]))
    half = candidates.SIDE * candidates.SIDE // 2
    assert all(v.shape == (1, half) for v in (top, bottom, left, right))
    assert np.linalg.norm(top[0]) == pytest.approx(1, abs=1e-5)
    assert np.all(bottom == 0)  # flat: no shape to find neighbours by
    assert np.linalg.norm(left[0]) == pytest.approx(1, abs=1e-5)


def test_pairs_found_through_a_part_are_added_after_the_rest() -> None:
    whole = clustered(n_clusters=20)
    pairs, _, rank = candidates.candidate_pairs([whole], k=1)
    part = clustered(n_clusters=20, seed=9)
    merged, merged_rank = candidates.add_pairs(pairs, rank, [part], 2, 0.0, added_rank=7)
    keys = merged[:, 0] * len(whole) + merged[:, 1]
    assert np.all(np.diff(keys) > 0)  # sorted, unique
    before = {tuple(p): r for p, r in zip(pairs.tolist(), rank.tolist(), strict=True)}
    after = {tuple(p): r for p, r in zip(merged.tolist(), merged_rank.tolist(), strict=True)}
    assert all(after[p] == r for p, r in before.items())  # found as a whole: rank kept
    added = set(after) - set(before)
    assert added and all(after[p] == 7 for p in added)
    unlike, _ = candidates.add_pairs(pairs, rank, [part], 2, 1.01, added_rank=7)
    assert np.array_equal(unlike, pairs)  # none alike enough: nothing added
