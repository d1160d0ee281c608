"""Relations between pictures and the duplicate groups they make: what the engine says
(`Relation`), and `build_groups`, which turns relations plus a person's decisions into
groups without chaining across a boundary — two pictures that are alternates, or
marked not-duplicate, never end in one group, however many duplicates link them; and
two alternates of one picture are alternates of each other (siblings).

Pure Python on purpose: a re-run answered from the cache builds groups without loading
the engine (numpy, OpenCV).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ENGINE_VERSION = 6  # bump when the answer for the same features may change
DEFAULT_THRESHOLD = 0.85  # similarity at or above which a pair is a duplicate
# 'distinct': measured and unlike, though a chain of duplicates led from one to the
# other; never shown, only kept apart.
RELATIONS = ("duplicate", "alternate", "distinct")
DECISIONS = ("duplicate", "alternate", "not_duplicate")
SIBLING_HUB = 2  # a group with at most this many alternates makes them alternates of each other


@dataclass(frozen=True)
class Relation:
    """What the engine (or the user) says about two pictures; a < b."""

    a: int
    b: int
    relation: str  # 'duplicate' | 'alternate' | 'distinct'
    similarity: float  # 0..1: share of the content that is the same once lined up


def build_groups(
    ids: Iterable[int],
    relations: Iterable[Relation],
    decisions: Mapping[tuple[int, int], str],
) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """Duplicate groups (each sorted, groups sorted by first id) and alternate pairs
    (a < b, sorted; one per pair of groups). Decisions override the engine for their
    pair; 'alternate' and 'not_duplicate' pairs never share a group."""
    members = sorted(set(ids))
    known = set(members)
    edges, alternates, apart = _merge_decisions(relations, decisions, known)
    parent = {i: i for i in members}
    group_of: dict[int, set[int]] = {i: {i} for i in members}
    cannot: dict[int, set[int]] = {i: set() for i in members}
    for a, b in apart:
        cannot[a].add(b)
        cannot[b].add(a)
    # Strongest links first, so that a weak link cannot pull a picture into the wrong group.
    for _, a, b in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
        ra, rb = _find(parent, a), _find(parent, b)
        if ra == rb or _blocked(group_of[ra], group_of[rb], cannot):
            continue
        root, child = min(ra, rb), max(ra, rb)
        parent[child] = root
        group_of[root] |= group_of.pop(child)
    groups = sorted(sorted(g) for g in group_of.values() if len(g) > 1)
    return groups, _with_siblings(_alternate_pairs(alternates, parent), parent)


def _merge_decisions(
    relations: Iterable[Relation],
    decisions: Mapping[tuple[int, int], str],
    known: set[int],
) -> tuple[list[tuple[float, int, int]], list[tuple[float, int, int]], list[tuple[int, int]]]:
    decided = {}
    for (a, b), relation in decisions.items():
        if relation not in DECISIONS:
            raise ValueError(f"unknown duplicate decision {relation!r} for images {a}, {b}")
        decided[(min(a, b), max(a, b))] = relation
    edges, alternates, apart = [], [], []
    for r in relations:
        key = (min(r.a, r.b), max(r.a, r.b))
        if key in decided or not set(key) <= known:
            continue
        if r.relation == "duplicate":
            edges.append((r.similarity, *key))
        elif r.relation == "alternate":
            alternates.append((r.similarity, *key))
            apart.append(key)
        elif r.relation == "distinct":
            apart.append(key)
    for key, relation in sorted(decided.items()):
        if not set(key) <= known or key[0] == key[1]:
            continue
        if relation == "duplicate":
            edges.append((2.0, *key))  # a person said so: before any engine link
        else:
            apart.append(key)
            if relation == "alternate":
                alternates.append((2.0, *key))
    return edges, alternates, apart


def _find(parent: dict[int, int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _blocked(g1: set[int], g2: set[int], cannot: dict[int, set[int]]) -> bool:
    small, large = (g1, g2) if len(g1) <= len(g2) else (g2, g1)
    return any(cannot[i] & large for i in small)


def _alternate_pairs(
    alternates: list[tuple[float, int, int]], parent: dict[int, int]
) -> list[tuple[int, int]]:
    """One alternate pair per pair of groups: the most similar (then lowest ids)."""
    best: dict[tuple[int, int], tuple[float, int, int]] = {}
    for sim, a, b in alternates:
        ra, rb = _find(parent, a), _find(parent, b)
        key = (min(ra, rb), max(ra, rb))
        cur = best.get(key)
        if cur is None or (-sim, a, b) < (-cur[0], cur[1], cur[2]):
            best[key] = (sim, a, b)
    return sorted((a, b) for _, a, b in best.values())


def _with_siblings(pairs: list[tuple[int, int]], parent: dict[int, int]) -> list[tuple[int, int]]:
    """Two alternates of one picture share its base drawing, so they are alternates of
    each other, though compared directly they differ in two places (a part erased in
    one, another part swapped in the other) and no comparison calls that one region.
    Only through a group with at most SIBLING_HUB alternates: a picture with many
    look-alikes is more likely one of a set (road signs sharing a frame, flags sharing
    a layout), whose members are not variants of one drawing (docs/decisions.md)."""
    linked: dict[int, list[tuple[int, int]]] = {}  # group -> (alternate group, its file)
    known = set()
    for a, b in pairs:
        ra, rb = _find(parent, a), _find(parent, b)
        linked.setdefault(ra, []).append((rb, b))
        linked.setdefault(rb, []).append((ra, a))
        known.add((min(ra, rb), max(ra, rb)))
    out = set(pairs)
    for others in linked.values():
        if len(others) > SIBLING_HUB:
            continue
        for (r1, f1), (r2, f2) in itertools.combinations(others, 2):
            if r1 != r2 and (min(r1, r2), max(r1, r2)) not in known:
                out.add((min(f1, f2), max(f1, f2)))
    return sorted(out)
