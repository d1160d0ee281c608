"""The engine's entry points: relations between pictures, then duplicate groups.

`find_relations` runs features → candidates → verification and says, per pair it
could check, 'duplicate' or 'alternate' with a similarity in 0..1: the share of the
content (ink) that stayed the same, in lightness and in colour, after the two are
lined up. One threshold on that similarity decides duplicates (DEFAULT_THRESHOLD);
pairs that line up but changed more than that — a recolour, a changed costume — are
alternates.

`build_groups` turns relations and the user's decisions into groups without
chaining across a boundary: two pictures that are alternates, or marked
not-duplicate, never end in one group, however many duplicates link them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import numpy as np

from illudex.dupes import candidates as cand
from illudex.dupes import features as feat
from illudex.dupes import verify
from illudex.dupes.relations import (  # noqa: F401 - the engine's whole interface, here
    DECISIONS,
    DEFAULT_THRESHOLD,
    ENGINE_VERSION,
    RELATIONS,
    Relation,
    build_groups,
)

MIN_OVERLAP = 0.7  # lined-up contents must cover this much of each other
ALT_REST = 0.04  # alternates: outside one region, at most this share of ink changed
COARSE_SIDE = 16  # first pass: every candidate pair compared at this size
COARSE_GATE = 0.15  # ... and compared in full only if less than this share of ink changed
FRAME_GATE = 0.95  # try the whole-frame alignment when the frames are this alike
ALIGN_GATE = 0.6  # try the profile alignment when the contents are this alike (cosine)
ALIGN_RANK = 3  # ... and one is among the other's ALIGN_RANK nearest in some space
ALIGN_STRUCTURE = 0.6  # ... and no more than this share of ink changed at 16 px
PROFILE_GATE = 0.95  # ... and their profiles, lined up, correlate this well
MOVED = 0.03  # ... and more than this share of ink changed as stored
REFINE_MARGIN = 0.15  # aligned pairs this close below the threshold get their map polished

Progress = Callable[[int, int], None]


def find_relations(
    items: Sequence[tuple[int, bytes]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
    k: int = cand.DEFAULT_K,
    extra_spaces: Sequence[np.ndarray] = (),
) -> list[Relation]:
    """Duplicate and alternate pairs among `items` (catalog id, `features.extract`
    bytes). `extra_spaces`: more search vectors per item (rows in the order of the
    items sorted by id, e.g. a tagger's embeddings), to widen the candidates."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"duplicate threshold must be in (0, 1], got {threshold}")
    ordered = sorted(items, key=lambda it: it[0])
    ids = [i for i, _ in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("find_relations: the same image id was given twice")
    features = [_decode(i, data) for i, data in ordered]
    if len(features) < 2:
        return []
    spaces = [cand.content_vectors(features), cand.frame_vectors(features), *extra_spaces]
    for space in spaces[2:]:
        if len(space) != len(features):
            raise ValueError("each extra search space needs one vector per item")
    with _one_blas_thread():
        pairs, _, rank = cand.candidate_pairs(spaces, k)
        content_cos = _row_dot(spaces[0], pairs)
        frame_cos = _row_dot(spaces[1], pairs)
        scores = _verify(features, pairs, content_cos, frame_cos, rank, threshold, progress)
    return _classify(ids, pairs, scores, threshold)



def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """The matrix products here are small: BLAS threads cost more than they bring, and
    on a busy machine (decode workers running beside us) far more."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _decode(image_id: int, data: bytes) -> feat.Feature:
    try:
        return feat.decode(data)
    except ValueError as e:
        raise ValueError(f"image {image_id}: {e}") from None


def _row_dot(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    if not len(pairs):
        return np.zeros(0, np.float32)
    return np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]])


def _verify(
    features: Sequence[feat.Feature],
    pairs: np.ndarray,
    content_cos: np.ndarray,
    frame_cos: np.ndarray,
    rank: np.ndarray,
    threshold: float,
    progress: Progress | None,
) -> np.ndarray:
    """Best (similarity, structure, overlap, rest) per pair. Cheap first, dear last: all
    pairs as stored at 16 px; the promising ones at 48 px; alignments only for pairs
    that fell short as stored but whose frames or contents look alike."""
    total = len(pairs)
    best = np.zeros((total, 4))
    best[:, 1] = best[:, 3] = 1.0
    if not total:
        return best

    def report(share: float) -> None:
        if progress:
            progress(int(total * share), total)

    coarse = verify.compare(verify.prepare(features, COARSE_SIDE), pairs[:, 0], pairs[:, 1])
    report(0.25)
    prep = verify.prepare(features)
    fine = np.flatnonzero(coarse.structure < COARSE_GATE)  # colour may differ: alternates
    best[fine] = _rows(verify.compare(prep, pairs[fine, 0], pairs[fine, 1]))
    report(0.5)
    aligned = np.tile(np.eye(2, 3), (total, 1, 1))  # the map behind each pair's best
    _align_frames(prep, pairs, best, aligned, threshold, frame_cos)
    report(0.75)
    short = ((best[:, 0] < threshold) & (content_cos >= ALIGN_GATE) & (rank < ALIGN_RANK)
             & (best[:, 1] > MOVED) & (coarse.structure <= ALIGN_STRUCTURE))
    _align_profiles(prep, pairs, best, aligned, np.flatnonzero(short))
    _polish(prep, pairs, best, aligned, threshold)
    report(1.0)
    return best


def _align_frames(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, aligned: np.ndarray,
    threshold: float, frame_cos: np.ndarray,
) -> None:
    """Whole frames alike (a caption in the margin moved the trim): map box to box."""
    framed = np.flatnonzero((best[:, 0] < threshold) & (frame_cos >= FRAME_GATE))
    boxed = np.array([verify.box_transform(prep.boxes[pairs[p, 0]], prep.boxes[pairs[p, 1]])
                      for p in framed]).reshape(-1, 2, 3)
    moved = np.array([not verify.is_identity(t) for t in boxed], bool)
    _try(prep, pairs, best, aligned, framed[moved], boxed[moved])


def _align_profiles(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, aligned: np.ndarray,
    which: np.ndarray,
) -> None:
    """Contents alike but shifted or scaled (a crop): line up the profiles, then compare.
    A recolour lines up as stored already (the caller only sends shapes that moved)."""
    transforms, agreement = verify.profile_transforms(prep, pairs[which, 0], pairs[which, 1])
    keep = agreement >= PROFILE_GATE
    keep &= np.array([not verify.is_identity(t) for t in transforms], bool).reshape(keep.shape)
    _try(prep, pairs, best, aligned, which[keep], transforms[keep])


def _polish(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, aligned: np.ndarray,
    threshold: float,
) -> None:
    """Close calls that needed an alignment: refine it on the comparison itself."""
    close = np.flatnonzero((best[:, 0] < threshold) & (best[:, 0] >= threshold - REFINE_MARGIN)
                           & ~np.all(np.abs(aligned - np.eye(2, 3)) < 1e-9, axis=(1, 2)))
    if len(close):
        _, sc = verify.refine(prep, pairs[close, 0], pairs[close, 1], aligned[close])
        better = (sc.overlap >= MIN_OVERLAP) & (sc.similarity > best[close, 0])
        best[close[better]] = _rows(sc)[better]


def _try(
    prep: verify.Prepared,
    pairs: np.ndarray,
    best: np.ndarray,
    aligned: np.ndarray,
    which: np.ndarray,
    transforms: np.ndarray,
) -> None:
    """Compare pairs[which] through `transforms`; keep each pair's best (and its map)."""
    if not len(which):
        return
    sc = verify.warp_compare(prep, pairs[which, 0], pairs[which, 1], transforms)
    better = (sc.overlap >= MIN_OVERLAP) & (sc.similarity > best[which, 0])
    best[which[better]] = _rows(sc)[better]
    aligned[which[better]] = transforms[better]


def _rows(sc: verify.Scores) -> np.ndarray:
    return np.stack([sc.similarity, sc.structure, sc.overlap, sc.rest], axis=1)


def _classify(
    ids: list[int], pairs: np.ndarray, scores: np.ndarray, threshold: float
) -> list[Relation]:
    out = []
    for (i, j), (similarity, _, overlap, rest) in zip(pairs.tolist(), scores, strict=True):
        if overlap < MIN_OVERLAP:
            continue
        if similarity >= threshold:
            relation = "duplicate"
        elif rest <= ALT_REST:
            relation = "alternate"  # same lines, other colours; or one region changed
        else:
            continue
        a, b = sorted((ids[i], ids[j]))
        out.append(Relation(a, b, relation, round(float(similarity), 4)))
    out.sort(key=lambda r: (r.a, r.b))
    return out
