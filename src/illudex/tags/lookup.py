"""Fuzzy tag lookup for autocomplete and "did you mean": names, aliases and translations.

`find(conn, 'kancole')` finds `kantai_collection` through its alias `kancolle` (one typo),
`find(conn, '艦これ')` through its Japanese name. Matches are ranked exact > prefix >
substring > fuzzy (by edit distance), more-used tags first within a rank, and say why
they matched. The index lives in memory, built once per vocabulary version (triggers bump
`search_state.vocab_version` whenever tags, aliases or translations change).
"""

from __future__ import annotations

import bisect
import math
import sqlite3
import threading
from dataclasses import dataclass

import numpy as np

from illudex.catalog import tagrows
from illudex.catalog.db import catalog_path
from illudex.catalog.tagrows import normalise
from illudex.tags.names import Tag

RANKS = {"exact": 3.0, "prefix": 2.0, "substring": 1.0, "fuzzy": 0.0}
MAX_CANDIDATES = 2000  # prefix/substring hits examined per query (short queries hit many)
FUZZY_POOL = 300  # closest names by shared trigrams that get a real edit distance


@dataclass(frozen=True)
class TagMatch:
    """A tag found for a typed text, and why: which name matched and how."""

    tag: Tag
    matched: str  # the name that matched: the tag's own, an alias or a translation
    via: str  # 'name' | 'alias' | 'translation'
    reason: str  # 'exact' | 'prefix' | 'substring' | 'fuzzy'
    distance: int  # edit distance for 'fuzzy', else 0
    score: float


class LookupIndex:
    """Every searchable name in memory: sorted for prefixes, trigrams for typos."""

    def __init__(self, rows: list[tuple[str, int, str]], tags: dict[int, Tag]) -> None:
        rows.sort()
        self.keys = [r[0] for r in rows]
        self.tag_ids = [r[1] for r in rows]
        self.vias = [r[2] for r in rows]
        self.tags = tags
        self._blob = "\n".join(self.keys) + "\n"
        self._starts = np.cumsum([0] + [len(k) + 1 for k in self.keys[:-1]]) if rows else []
        self._trigrams: dict[str, np.ndarray] | None = None
        max_count = max((t.count for t in tags.values()), default=0)
        self._log_max = math.log1p(max_count) or 1.0

    @classmethod
    def load(cls, conn: sqlite3.Connection) -> LookupIndex:
        tags = {r[0]: Tag(*r) for r in tagrows.all_tags(conn)}
        rows = [(t.name, t.id, "name") for t in tags.values()]
        rows += [(alias, tag_id, "alias") for alias, tag_id in tagrows.alias_rows(conn)]
        rows += [(name, tag_id, "translation")
                 for name, tag_id in tagrows.translation_rows(conn)]
        return cls(rows, tags)

    def popularity(self, tag_id: int) -> float:
        return math.log1p(self.tags[tag_id].count) / self._log_max

    def prefix_hits(self, q: str) -> range:
        lo = bisect.bisect_left(self.keys, q)
        hi = bisect.bisect_left(self.keys, q + "\U0010ffff")
        return range(lo, min(hi, lo + MAX_CANDIDATES))

    def substring_hits(self, q: str) -> list[int]:
        out, at = [], self._blob.find(q)
        while at >= 0 and len(out) < MAX_CANDIDATES:
            index = int(np.searchsorted(self._starts, at, side="right")) - 1
            out.append(index)
            at = self._blob.find(q, int(self._starts[index]) + len(self.keys[index]) + 1)
        return out

    def fuzzy_pool(self, q: str) -> np.ndarray:
        """Indexes of the keys sharing the most trigrams with `q`."""
        grams = self.trigrams()
        lists = [grams[g] for g in _trigrams(q) if g in grams]
        if not lists:
            return np.empty(0, dtype=np.int64)
        shared = np.bincount(np.concatenate(lists), minlength=len(self.keys))
        pool = min(FUZZY_POOL, int(np.count_nonzero(shared)))
        return np.argpartition(-shared, pool - 1)[:pool] if pool else np.empty(0, np.int64)

    def trigrams(self) -> dict[str, np.ndarray]:
        if self._trigrams is None:  # built on first fuzzy lookup only
            postings: dict[str, list[int]] = {}
            for index, key in enumerate(self.keys):
                for gram in _trigrams(key):
                    postings.setdefault(gram, []).append(index)
            self._trigrams = {g: np.asarray(v, dtype=np.int64) for g, v in postings.items()}
        return self._trigrams


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap counts 1), or limit + 1 once past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1]


def _typo_limit(q: str) -> int:
    return 1 if len(q) <= 4 else 2 if len(q) <= 9 else 3


_cache: dict[tuple[str, int], LookupIndex] = {}
_cache_lock = threading.Lock()


def lookup_index(conn: sqlite3.Connection) -> LookupIndex:
    """The in-memory index for this catalog's current vocabulary (cached)."""
    version = tagrows.vocab_version(conn)
    path = catalog_path(conn)
    key = (path or f"memory:{id(conn)}", int(version))
    with _cache_lock:
        index = _cache.get(key)
    if index is None:
        index = LookupIndex.load(conn)
        with _cache_lock:
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            _cache[key] = index
    return index


def find(
    conn: sqlite3.Connection, text: str, *, limit: int = 20, category: str | None = None
) -> list[TagMatch]:
    """Tags matching `text` by name, alias or translation: exact, prefix, substring or typo.

    Ranked best first, one match per tag (its best). Fast enough to call per keystroke.
    """
    q = normalise(text)
    if not q or limit <= 0:
        return []
    index = lookup_index(conn)
    best: dict[int, TagMatch] = {}

    def offer(i: int, reason: str, distance: int = 0) -> None:
        tag = index.tags.get(index.tag_ids[i])
        if tag is None or (category is not None and tag.category != category):
            return
        score = RANKS[reason] - 0.3 * distance + 0.9 * index.popularity(tag.id)
        if tag.id not in best or score > best[tag.id].score:
            best[tag.id] = TagMatch(tag, index.keys[i], index.vias[i], reason, distance, score)

    for i in index.prefix_hits(q):
        offer(i, "exact" if index.keys[i] == q else "prefix")
    # Each rank scores above every lower one, so a full page ends the search early.
    if len(best) < limit:
        for i in index.substring_hits(q):
            if not index.keys[i].startswith(q):
                offer(i, "substring")
    if len(best) < limit:
        _offer_typos(index, q, offer)
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.tag.name))
    return ranked[:limit]


def _offer_typos(index: LookupIndex, q: str, offer) -> None:
    limit_typos = _typo_limit(q)
    for i in index.fuzzy_pool(q).tolist():
        key = index.keys[i]
        if q in key:
            continue
        whole = edit_distance(q, key, limit_typos)
        head = edit_distance(q, key[: len(q)], limit_typos) if len(key) > len(q) else whole
        distance = min(whole, head + 1)  # a typo in what is being typed still completes
        if distance <= limit_typos:
            offer(i, "fuzzy", distance)


def warm_up(conn: sqlite3.Connection) -> None:
    """Build the lookup index now (about a second per 100k names), not on first keystroke."""
    lookup_index(conn).trigrams()
