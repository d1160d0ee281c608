"""The engine's entry points: relations between pictures, then duplicate groups.

`find_relations` runs features → candidates → verification and says, per pair it
could check, 'duplicate' or 'alternate' with a similarity in 0..1: the share of the
content (ink) that stayed the same, in lightness and in colour, after the two are
lined up. One threshold on that similarity decides duplicates (DEFAULT_THRESHOLD);
pairs that line up but changed more than that only in one region, or only in colour
with every hue turned alike and the lightness kept — a recolour, a changed costume, a
prop added or erased — are alternates. Chains of duplicates of three or more are
checked against their representative ('distinct' pairs are kept apart), so that
look-alikes met one at a time (sparse sketches) do not pile up into one group.

`build_groups` turns relations and the user's decisions into groups without
chaining across a boundary: two pictures that are alternates, or marked
not-duplicate, never end in one group, however many duplicates link them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

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
from illudex.dupes.transforms import box_transform, is_identity, profile_transforms, refine
from illudex.errors import InvalidInput
from illudex.progress import ProgressCallback, notify

MIN_OVERLAP = 0.7  # lined-up contents must cover this much of each other
ALT_REST = 0.04  # alternates: outside one region, at most this share of ink changed
REGION_REST = 0.3  # ... a pair this far over it, as stored, has its largest changed region
REGION_SHARE = 0.5  # ... measured, which counts as one region if it holds at most this much
# of the ink (more: the pictures differ, not a part of them)
HUE_SPREAD = 0.4  # ... and where colour changed most, the hue turned alike (a recolour)
WHOLE_RECOLOUR = 0.5  # more than this share of the colour change lies outside one region:
# the whole picture was recoloured, which turns every hue alike and keeps the lightness:
RECOLOUR_SPREAD = 0.15  # ... so the hue turned this consistently at most
RECOLOUR_REST = 0.02  # ... and outside one part at most this share of ink changed lightness
RECOLOUR_CHROMA = 0.2  # ... and the colourfulness changed at most this much (relative)
COARSE_SIDE = 16  # first pass: every candidate pair compared at this size
COARSE_GATE = 0.15  # ... and compared in full only if less than this share of ink changed
COARSE_REST = 0.1  # ... or less than this outside its most changed region
FRAME_GATE = 0.95  # try the whole-frame alignment when the frames are this alike
# Loose gates: thin line art's 8 px search vectors and mean profiles are weak evidence
# either way, and the comparison at full size after alignment decides (docs/decisions.md).
ALIGN_GATE = 0.4  # try the profile alignment when the contents or frames are this alike
ALIGN_RANK = 3  # ... and one is among the other's ALIGN_RANK nearest in some space
ALIGN_STRUCTURE = 0.7  # ... and no more than this share of ink changed at 16 px
PROFILE_GATE = 0.7  # ... and their profiles, lined up, correlate this well
MOVED = 0.03  # ... and more than this share of ink changed as stored
REFINE_MARGIN = 0.15  # aligned pairs this close below the threshold get their map polished
CHAIN_MARGIN = 0.15  # a chained member this far below the threshold with its representative
# is kept apart from it


def find_relations(
    items: Sequence[tuple[int, bytes]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    progress: ProgressCallback | None = None,
    k: int = cand.DEFAULT_K,
    extra_spaces: Sequence[np.ndarray] = (),
) -> list[Relation]:
    """Duplicate and alternate pairs among `items` (catalog id, `features.extract`
    bytes). `extra_spaces`: more search vectors per item (rows in the order of the
    items sorted by id, e.g. a tagger's embeddings), to widen the candidates."""
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput(f"duplicate threshold must be in (0, 1], got {threshold}")
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
        # Alternates: a part changed can move the whole far; the other half stays close.
        # Found that way, a pair is compared as it lies, not aligned (rank k: last).
        pairs, rank = cand.add_pairs(pairs, rank, cand.half_vectors(spaces[0]), cand.HALF_K,
                                     cand.HALF_SIMILARITY, k)
        content_cos = _row_dot(spaces[0], pairs)
        frame_cos = _row_dot(spaces[1], pairs)
        scores, stored = _verify(features, pairs, content_cos, frame_cos, rank, threshold,
                                 progress)
        relations = _classify(ids, pairs, scores, stored, threshold)
        relations += _check_chains(features, ids, spaces, pairs, scores, stored, threshold)
    relations.sort(key=lambda r: (r.a, r.b))
    return relations


def _check_chains(
    features: Sequence[feat.Feature], ids: list[int], spaces: Sequence[np.ndarray],
    pairs: np.ndarray, scores: np.ndarray, stored: np.ndarray, threshold: float,
) -> list[Relation]:
    """Single links chain: A like B, B like C, ... Z, and Z is nothing like A (sparse
    drawings, one look-alike at a time). In every chain of three or more, each member
    is checked against the chain's representative (the member with the most, and most
    alike, links: the original among its copies); one clearly unlike it (CHAIN_MARGIN
    below the threshold) is kept apart from it ('distinct'), so that it can stay only
    with its own copies. Checking every pair instead splits real groups (a crop and a
    bordered copy can be far apart while both are close to the original): measured in
    docs/decisions.md."""
    dup = (scores[:, 0] >= threshold) & (scores[:, 2] >= MIN_OVERLAP)
    components = _components(len(features), pairs[dup])
    known = {(int(i), int(j)): k for k, (i, j) in enumerate(pairs.tolist())}
    strength = np.zeros(len(features))
    np.add.at(strength, pairs[dup, 0], scores[dup, 0])
    np.add.at(strength, pairs[dup, 1], scores[dup, 0])
    wanted: list[tuple[int, int]] = []
    for members in components:
        rep = max(members, key=lambda m: (strength[m], -m))
        wanted += [(min(rep, m), max(rep, m)) for m in members if m != rep]
    if not wanted:
        return []
    check = np.array([p for p in wanted if p not in known], np.int64).reshape(-1, 2)
    fresh, fresh_stored = _verify(features, check, _row_dot(spaces[0], check),
                                  _row_dot(spaces[1], check), np.zeros(len(check), np.int64),
                                  threshold, None)
    measured = {p: (scores[k], stored[k]) for p, k in known.items()}
    for (i, j), row, as_stored in zip(check.tolist(), fresh, fresh_stored, strict=True):
        measured[(int(i), int(j))] = (row, as_stored)
    out = []
    for i, j in wanted:
        row, as_stored = measured[(i, j)]
        similarity, _, overlap = row[:3]
        unlike = similarity < threshold - CHAIN_MARGIN or overlap < MIN_OVERLAP
        if unlike and not _is_alternate(row, as_stored):  # alternates: apart anyway
            a, b = sorted((ids[i], ids[j]))
            out.append(Relation(a, b, "distinct", round(float(similarity), 4)))
    return out


def _components(n: int, edges: np.ndarray) -> list[list[int]]:
    """Connected components of three or more nodes."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in edges.tolist():
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for x in range(n):
        groups.setdefault(find(x), []).append(x)
    return [g for g in groups.values() if len(g) >= 3]


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
    progress: ProgressCallback | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best (similarity, structure, overlap, rest, spread, colour_rest, colour,
    chroma_change) per pair, and the same as stored (unaligned; overlap 0 where the
    pair was not compared at full size).
    Cheap first, dear last: all pairs as stored at 16 px; the promising ones at 48 px;
    alignments only for pairs that fell short as stored but whose frames or contents
    look alike."""
    total = len(pairs)
    best = np.zeros((total, 8))
    best[:, 1] = best[:, 3] = 1.0
    if not total:
        return best, best.copy()

    def report(share: float) -> None:
        notify(progress, "verify", int(total * share), total)

    coarse = verify.compare(verify.prepare(features, COARSE_SIDE), pairs[:, 0], pairs[:, 1],
                            shape_only=True)
    report(0.25)
    prep = verify.prepare(features)
    # Colour may differ (alternates); so may one region (a part erased or replaced).
    fine = np.flatnonzero((coarse.structure < COARSE_GATE) | (coarse.rest <= COARSE_REST))
    best[fine] = _rows(verify.compare(prep, pairs[fine, 0], pairs[fine, 1]))
    stored = best.copy()
    report(0.5)
    aligned = np.tile(np.eye(2, 3), (total, 1, 1))  # the map behind each pair's best
    _align_frames(prep, pairs, best, aligned, threshold, frame_cos)
    report(0.75)
    looks_alike = np.maximum(content_cos, frame_cos) >= ALIGN_GATE
    short = ((best[:, 0] < threshold) & looks_alike & (rank < ALIGN_RANK)
             & (best[:, 1] > MOVED) & (coarse.structure <= ALIGN_STRUCTURE))
    _align_profiles(prep, pairs, best, aligned, np.flatnonzero(short))
    _polish(prep, pairs, best, aligned, threshold)
    _one_region(prep, pairs, best, stored, threshold)
    report(1.0)
    return best, stored


def _one_region(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, stored: np.ndarray,
    threshold: float,
) -> None:
    """Pairs that changed too much outside the fixed window to be alternates: measure
    the change outside their largest changed region instead (into `stored`'s rest)."""
    maybe = np.flatnonzero((best[:, 0] < threshold) & (stored[:, 2] >= MIN_OVERLAP)
                           & (stored[:, 3] > ALT_REST) & (stored[:, 3] <= REGION_REST)
                           & (stored[:, 4] <= HUE_SPREAD))
    if not len(maybe):
        return
    rest, share = verify.one_region(prep, pairs[maybe, 0], pairs[maybe, 1])
    ok = share <= REGION_SHARE
    stored[maybe[ok], 3] = np.minimum(stored[maybe[ok], 3], rest[ok])


def _align_frames(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, aligned: np.ndarray,
    threshold: float, frame_cos: np.ndarray,
) -> None:
    """Whole frames alike (a caption in the margin moved the trim): map box to box."""
    framed = np.flatnonzero((best[:, 0] < threshold) & (frame_cos >= FRAME_GATE))
    boxed = np.array([box_transform(prep.boxes[pairs[p, 0]], prep.boxes[pairs[p, 1]])
                      for p in framed]).reshape(-1, 2, 3)
    moved = np.array([not is_identity(t) for t in boxed], bool)
    _try(prep, pairs, best, aligned, framed[moved], boxed[moved])


def _align_profiles(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, aligned: np.ndarray,
    which: np.ndarray,
) -> None:
    """Contents alike but shifted or scaled (a crop): line up the profiles, then compare.
    A recolour lines up as stored already (the caller only sends shapes that moved)."""
    transforms, agreement = profile_transforms(prep, pairs[which, 0], pairs[which, 1])
    keep = agreement >= PROFILE_GATE
    keep &= np.array([not is_identity(t) for t in transforms], bool).reshape(keep.shape)
    _try(prep, pairs, best, aligned, which[keep], transforms[keep])


def _polish(
    prep: verify.Prepared, pairs: np.ndarray, best: np.ndarray, aligned: np.ndarray,
    threshold: float,
) -> None:
    """Close calls that needed an alignment: refine it on the comparison itself."""
    close = np.flatnonzero((best[:, 0] < threshold) & (best[:, 0] >= threshold - REFINE_MARGIN)
                           & ~np.all(np.abs(aligned - np.eye(2, 3)) < 1e-9, axis=(1, 2)))
    if len(close):
        _, sc = refine(prep, pairs[close, 0], pairs[close, 1], aligned[close])
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
    return np.stack([sc.similarity, sc.structure, sc.overlap, sc.rest, sc.spread, sc.colour_rest,
                     sc.colour, sc.chroma_change], axis=1)


def _classify(
    ids: list[int], pairs: np.ndarray, scores: np.ndarray, stored: np.ndarray,
    threshold: float,
) -> list[Relation]:
    """Duplicates by the best comparison; alternates by it or by the comparison as
    stored: a part erased at the edge moves the trim, and lined up like a crop, the
    erased part falls outside the overlap and the change looks spread."""
    out = []
    for (i, j), row, as_stored in zip(pairs.tolist(), scores, stored, strict=True):
        similarity, _, overlap = row[:3]
        if overlap < MIN_OVERLAP:
            continue
        if similarity >= threshold:
            relation = "duplicate"
        elif _is_alternate(row, as_stored):
            relation = "alternate"  # same lines, other colours; or one region changed
        else:
            continue
        a, b = sorted((ids[i], ids[j]))
        out.append(Relation(a, b, relation, round(float(similarity), 4)))
    return out


def _is_alternate(best: np.ndarray, as_stored: np.ndarray) -> bool:
    """An alternate by the best comparison, or by the one as stored (lined up)."""
    return _alternate(best) or (as_stored[2] >= MIN_OVERLAP and _alternate(as_stored))


def _alternate(row: np.ndarray) -> bool:
    """Lined up, but changed in one region only (a part recoloured, added, erased or
    replaced), or recoloured as a whole. A whole recolour turns every hue by the same
    angle and leaves the lightness alone (a hue turn keeps each pixel's max and min
    channel); unrelated pictures that share a layout (flags, icons of one set) change
    colour everywhere too, but each region its own way and lighter or darker."""
    _, structure, _, rest, spread, colour_rest, colour, chroma_change = row
    if rest > ALT_REST or spread > HUE_SPREAD:
        return False
    whole = colour > 2 * structure and colour_rest > WHOLE_RECOLOUR * colour
    return not whole or (spread <= RECOLOUR_SPREAD and rest <= RECOLOUR_REST
                         and chroma_change <= RECOLOUR_CHROMA)
