"""Candidate pairs: the few pictures worth verifying against each picture.

Each picture gets two small search vectors from its feature: the trimmed content and
the whole frame (8x8 lightness, zero-mean, unit length: brightness and contrast edits
drop out). The k nearest neighbours in each space are candidates; the frame space
finds copies whose trim differs (a caption in the margin), the content space finds
bordered and re-framed copies. Alternates change one part of a picture, and a part
changed in a sparse drawing can move its whole vector far: so each half of the content
(top, bottom, left, right) is a small space of its own too, whose HALF_K nearest are
candidates as well (`half_vectors`, `add_pairs`).

Up to EXACT_LIMIT pictures the neighbours are found exactly (a blocked matrix
product, ~N²·64 flops: a blink at that size); above it an HNSW index (usearch,
single-threaded build so that the graph, hence the answer, is deterministic) keeps
time ~N log N and memory ~N. Extra vectors per picture (a tagger's embedding, say)
can be given as more spaces: their neighbours are added to the candidates.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from illudex.dupes.features import Feature

SIDE = 8  # search vectors are SIDE x SIDE
DEFAULT_K = 10  # neighbours per picture per space
HALF_K = 3  # neighbours per picture in each half-content space (docs/decisions.md) ...
HALF_SIMILARITY = 0.8  # ... that are alike there at least this much (cosine)
EXACT_LIMIT = 4096  # up to this many pictures: exact search
_BLOCK = 1024


def content_vectors(features: Sequence[Feature]) -> np.ndarray:
    return _unit([_small(f.light) for f in features])


def frame_vectors(features: Sequence[Feature]) -> np.ndarray:
    return _unit([_small(f.frame) for f in features])


def half_vectors(content: np.ndarray) -> list[np.ndarray]:
    """Four spaces from the content vectors (`content_vectors`): the top, bottom, left
    and right half of each one's grid, each on its own (zero-mean, unit length again,
    as the halves of the thumbnail would be). A part changed in one half leaves the
    other alike."""
    grids = content.reshape(len(content), SIDE, SIDE)
    half = SIDE // 2
    parts = [grids[:, :half], grids[:, half:], grids[:, :, :half], grids[:, :, half:]]
    return [_unit(list(p.reshape(len(grids), -1)), width=SIDE * half) for p in parts]


def _small(x: np.ndarray) -> np.ndarray:
    import cv2  # lazily: a re-run answered from the cache never needs it
    return cv2.resize(x.astype(np.float32), (SIDE, SIDE), interpolation=cv2.INTER_AREA).ravel()


def _unit(rows: Sequence[np.ndarray], width: int = SIDE * SIDE) -> np.ndarray:
    if not rows:
        return np.zeros((0, width), np.float32)
    v = np.stack(rows).astype(np.float32)
    v -= v.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    # A flat picture has no shape to compare: it gets a vector of its own, far from all.
    return np.where(norm > 1e-3, v / np.maximum(norm, 1e-6), 0.0).astype(np.float32)


def neighbours(vectors: np.ndarray, k: int = DEFAULT_K) -> tuple[np.ndarray, np.ndarray]:
    """Indices (N x k, -1 where fewer) and cosine similarities of each row's nearest
    other rows. Deterministic: ties go to the lower index."""
    n = len(vectors)
    k = min(k, n - 1)
    if k <= 0:
        return np.full((n, 0), -1, np.int64), np.zeros((n, 0), np.float32)
    if n <= EXACT_LIMIT:
        return _exact(vectors, k)
    return _hnsw(vectors, k)


def _exact(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(vectors)
    idx = np.empty((n, k), np.int64)
    sim = np.empty((n, k), np.float32)
    for s in range(0, n, _BLOCK):
        block = vectors[s:s + _BLOCK] @ vectors.T
        rows = np.arange(len(block))
        block[rows, rows + s] = -np.inf  # not one's own neighbour
        # The k best by a partial sort, then those in order (ties: lower index first).
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        part.sort(axis=1)
        order = np.argsort(-np.take_along_axis(block, part, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, axis=1)
        idx[s:s + _BLOCK] = top
        sim[s:s + _BLOCK] = np.take_along_axis(block, top, axis=1)
    return idx, sim


def _hnsw(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from usearch.index import Index

    index = Index(ndim=vectors.shape[1], metric="ip", dtype="f32", connectivity=12,
                  expansion_add=40, expansion_search=max(40, 2 * k))
    keys = np.arange(len(vectors), dtype=np.uint64)
    index.add(keys, vectors, threads=1)  # one thread: the same graph on every run
    found = index.search(vectors, k + 1, threads=0)
    idx = found.keys.astype(np.int64)
    sim = (1.0 - found.distances).astype(np.float32)  # usearch's "ip" distance is 1 - dot
    out_idx = np.full((len(vectors), k), -1, np.int64)
    out_sim = np.zeros((len(vectors), k), np.float32)
    for i in range(len(vectors)):
        keep = (idx[i] != i) & (idx[i] < len(vectors)) & (idx[i] >= 0)
        row_idx, row_sim = idx[i][keep][:k], sim[i][keep][:k]
        out_idx[i, :len(row_idx)], out_sim[i, :len(row_sim)] = row_idx, row_sim
    return out_idx, out_sim


def _all_neighbours(
    spaces: Sequence[np.ndarray], k: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """`neighbours` in each space, the spaces side by side in threads: the searches let
    go of the GIL, and each index is still built on one thread (the same answer)."""
    if len(spaces) < 2:
        return [neighbours(vectors, k) for vectors in spaces]
    with ThreadPoolExecutor(min(len(spaces), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda vectors: neighbours(vectors, k), spaces))


def candidate_pairs(
    spaces: Sequence[np.ndarray], k: int = DEFAULT_K, min_similarity: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union over the spaces of each picture's k nearest neighbours, as sorted unique
    pairs (P x 2, i < j), with the best cosine similarity any space gave the pair and
    its best rank (0: one of the two is the other's nearest neighbour somewhere)."""
    pair_keys: list[np.ndarray] = []
    pair_sims: list[np.ndarray] = []
    pair_ranks: list[np.ndarray] = []
    n = len(spaces[0]) if spaces else 0
    for idx, sim in _all_neighbours(spaces, k):
        rows = np.repeat(np.arange(n), idx.shape[1])
        ranks = np.tile(np.arange(idx.shape[1]), n)
        cols, sims = idx.ravel(), sim.ravel()
        ok = (cols >= 0) & (sims >= min_similarity)
        lo, hi = np.minimum(rows, cols)[ok], np.maximum(rows, cols)[ok]
        pair_keys.append(lo.astype(np.int64) * max(n, 1) + hi)
        pair_sims.append(sims[ok])
        pair_ranks.append(ranks[ok])
    if not pair_keys or not sum(len(p) for p in pair_keys):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64)
    keys, sims = np.concatenate(pair_keys), np.concatenate(pair_sims)
    ranks = np.concatenate(pair_ranks)
    order = np.lexsort((-sims, keys))  # per key, best similarity first
    keys, sims, ranks = keys[order], sims[order], ranks[order]
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(first)
    best_rank = np.minimum.reduceat(ranks, starts)
    keys, sims = keys[first], sims[first]
    return np.stack([keys // max(n, 1), keys % max(n, 1)], axis=1), sims, best_rank


def add_pairs(
    pairs: np.ndarray, rank: np.ndarray, spaces: Sequence[np.ndarray], k: int,
    min_similarity: float, added_rank: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`pairs` and their `rank` (from `candidate_pairs`) with each picture's k nearest
    neighbours in each of `spaces` added (those at least `min_similarity` alike), sorted
    as before; a pair only these found gets `added_rank` (found through a part, not as
    a whole)."""
    more, _, _ = candidate_pairs(spaces, k, min_similarity)
    if not len(more):
        return pairs, rank
    n = len(spaces[0])
    have, extra = pairs[:, 0] * n + pairs[:, 1], more[:, 0] * n + more[:, 1]
    new = np.setdiff1d(extra, have)
    keys = np.concatenate([have, new])
    ranks = np.concatenate([rank, np.full(len(new), added_rank, np.int64)])
    order = np.argsort(keys, kind="stable")
    keys, ranks = keys[order], ranks[order]
    return np.stack([keys // n, keys % n], axis=1), ranks
