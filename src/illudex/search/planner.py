"""Query tree → plan: tag terms resolved to tag-id sets, metatags to SQL, similarity apart.

A tag term matches the tag it names (directly, through an alias or a translation), and
every tag that implies it, transitively (`metroid` finds images tagged `zero_suit_samus`).
Wildcards match tag names, aliases and translations. `plan.sql` selects the matching
image ids in order using only the catalog tables: it starts from the rarest positive tag
and checks the others with EXISTS / NOT EXISTS on image_tags. The executor runs the same
plan faster from cached posting lists (`plan.tree`); both give the same answer.

Similarity terms (`similar:`, `text:`) are not SQL: they come back as
`plan.similarity` for the caller to run against the vector index, then to intersect with
and rank the filtered ids (see `executor.execute(..., within=...)`).
"""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import dataclass, field

from illudex.catalog import modelresults, tagrows
from illudex.catalog.idlists import IN_LIST, as_param
from illudex.errors import InvalidInput
from illudex.search.query import (
    DETECTION_KEYS,
    And,
    Meta,
    Node,
    Not,
    Or,
    Query,
    Range,
    Similar,
    Sort,
    TagTerm,
    parse,
)
from illudex.tags.vocabulary import implying_closure, resolve_ids

INLINE_IDS = 200  # larger id sets go in as one JSON parameter, not one '?' each
RATING_PREFIX = "rating:"  # how taggers name their rating tags (`rating:general`)


class QueryPlanError(InvalidInput):
    """A query that parses but cannot be planned (e.g. a relative folder)."""


@dataclass(frozen=True)
class SimilarityClause:
    """A similarity term for the caller: image `target` (id or path) or text, with cut-off."""

    kind: str  # 'image' | 'text'
    target: str | int
    min_score: float | None
    negated: bool  # exclude what is at least `min_score` similar
    pos: int


@dataclass(frozen=True)
class TagSet:
    """A resolved tag term: any of these tag ids. `count` bounds how many images match."""

    ids: tuple[int, ...]
    label: str
    count: int


@dataclass(frozen=True)
class SqlFilter:
    """A metatag as an SQL condition on `images i`; `column` + `range`/`values` say the same
    for the executor's cached image columns (None: SQL only, e.g. path and folder)."""

    sql: str
    params: tuple
    label: str
    column: str | None = None
    range: Range | None = None
    values: tuple = ()


Resolved = TagSet | SqlFilter | And | Or | Not


@dataclass
class Plan:
    """What to run: SQL for the filter, similarity clauses, order and limit."""

    query: Query
    sql: str  # SELECT i.id FROM images i ... ORDER BY ... (all matches, no LIMIT)
    params: list
    similarity: list[SimilarityClause]
    sort: Sort
    limit: int | None
    tree: Resolved | None  # the filter with tags resolved; None matches every image
    order_sql: str
    score_sql: str | None  # per-image tag confidence (mean over positive tags), or None
    score_params: list
    warnings: list[str] = field(default_factory=list)


# -- resolving tags ----------------------------------------------------------------------


def _like_pattern(glob: str) -> str:
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def resolve_term_tag_ids(conn: sqlite3.Connection, term: TagTerm) -> list[int]:
    """Every tag id a tag term matches: named, aliased, translated, wildcarded, implying."""
    if term.wildcard:
        seeds = tagrows.ids_like(conn, _like_pattern(term.name))
    else:
        seeds = resolve_ids(conn, term.name)
    return sorted(implying_closure(conn, seeds))


def _tag_set(conn: sqlite3.Connection, ids: list[int], label: str) -> TagSet:
    return TagSet(tuple(ids), label, tagrows.image_count_sum(conn, ids))


def _rating_ids(conn: sqlite3.Connection, names: tuple[str, ...]) -> list[int]:
    """The tags that say a rating: `rating:general` as taggers and captions write it, or a
    tag `general` whose category is rating."""
    return tagrows.rating_ids(conn, [RATING_PREFIX + n for n in names], names)


# -- metatags → SQL ----------------------------------------------------------------------

COLUMNS = {
    "width": "i.width",
    "height": "i.height",
    "size": "i.size",
    "id": "i.id",
    "added": "i.added_at",
    "ratio": "(CAST(i.width AS REAL) / NULLIF(i.height, 0))",
    "tags": "(SELECT COUNT(DISTINCT tag_id) FROM image_tags WHERE image_id = i.id)",
}


# What model steps stored (model_results) has no cached column: SQL only, and NULL (so
# matched by neither faces:N nor -faces:N) where no model has looked at the picture.
SQL_ONLY_RANGES = {*DETECTION_KEYS, "quality"}


def _range_column(key: str) -> str:
    if key in DETECTION_KEYS:
        return modelresults.count_sql(DETECTION_KEYS[key])
    if key == "quality":
        return modelresults.quality_sql()
    return COLUMNS[key]


def _meta_sql(meta: Meta) -> SqlFilter:
    if meta.range is not None:
        column = _range_column(meta.key)
        r = meta.range
        parts, params = [], []
        if r.lo is not None:
            parts.append(f"{column} {'>=' if r.lo_inclusive else '>'} ?")
            params.append(r.lo)
        if r.hi is not None:
            parts.append(f"{column} {'<=' if r.hi_inclusive else '<'} ?")
            params.append(r.hi)
        cached = None if meta.key in SQL_ONLY_RANGES else meta.key
        return SqlFilter(" AND ".join(parts), tuple(params), meta.raw, cached, r)
    if meta.key == "class":
        return SqlFilter(modelresults.label_sql(len(meta.values)), meta.values, meta.raw)
    if meta.key == "format":
        marks = ",".join("?" * len(meta.values))
        return SqlFilter(f"lower(i.format) IN ({marks})", meta.values, meta.raw, "format",
                         values=meta.values)
    if meta.key in ("animated", "alpha"):
        column = "i.animated" if meta.key == "animated" else "i.has_alpha"
        flag = int(meta.values[0])
        return SqlFilter(f"{column} = ?", (flag,), meta.raw, meta.key, Range(flag, flag))
    if meta.key == "folder":
        return _folder_sql(meta)
    glob = meta.values[0]
    if "*" not in glob and "?" not in glob:
        glob = f"*{glob}*"
    return SqlFilter("i.path LIKE ? ESCAPE '\\'", (_like_pattern(glob),), meta.raw)


def _folder_sql(meta: Meta) -> SqlFilter:
    folder = os.path.expanduser(meta.values[0])
    if not os.path.isabs(folder):
        raise QueryPlanError(
            f"folder: needs an absolute path, got {meta.values[0]!r}: write e.g. folder:/pics/art"
        )
    prefix = os.path.normpath(folder).rstrip(os.sep) + os.sep
    upper = prefix[:-1] + chr(ord(os.sep) + 1)  # every path under prefix sorts below this
    return SqlFilter("(i.path >= ? AND i.path < ?)", (prefix, upper), meta.raw)


# -- tree → resolved tree ----------------------------------------------------------------


def _resolve(conn: sqlite3.Connection, node: Node, warnings: list[str]) -> Resolved | None:
    if isinstance(node, TagTerm):
        ids = resolve_term_tag_ids(conn, node)
        if not ids:
            warnings.append(_unknown_tag_warning(conn, node))
        return _tag_set(conn, ids, node.name)
    if isinstance(node, Meta):
        if node.key == "rating":
            return _tag_set(conn, _rating_ids(conn, node.values), node.raw)
        return _meta_sql(node)
    if isinstance(node, Similar):
        return None
    if isinstance(node, Not):
        child = _resolve(conn, node.child, warnings)
        return None if child is None else Not(child)
    children = [c for c in (_resolve(conn, c, warnings) for c in node.children) if c is not None]
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    return And(tuple(children)) if isinstance(node, And) else Or(tuple(children))


def _unknown_tag_warning(conn: sqlite3.Connection, term: TagTerm) -> str:
    if term.wildcard:
        return f"no tag matches {term.name!r}"
    from illudex.tags.lookup import find  # builds an in-memory index: only when needed

    guesses = [m.tag.name for m in find(conn, term.name, limit=3)]
    hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
    return f"no tag named {term.name!r}{hint}"


def _similarity(root: Node | None) -> list[SimilarityClause]:
    top = root.children if isinstance(root, And) else (root,) if root is not None else ()
    out = []
    for node in top:
        negated = isinstance(node, Not)
        inner = node.child if negated else node
        if isinstance(inner, Similar):
            out.append(SimilarityClause(inner.kind, inner.target, inner.min_score, negated,
                                        inner.pos))
    return out


# -- resolved tree → SQL -----------------------------------------------------------------


def _ids_sql(ids: tuple[int, ...]) -> tuple[str, list]:
    if len(ids) == 1:
        return "= ?", [ids[0]]
    if len(ids) <= INLINE_IDS:
        return f"IN ({','.join('?' * len(ids))})", list(ids)
    return f"IN {IN_LIST}", [as_param(ids)]


def where_sql(node: Resolved) -> tuple[str, list]:
    if isinstance(node, TagSet):
        if not node.ids:
            return "0", []
        ids_sql, params = _ids_sql(node.ids)
        return (f"EXISTS (SELECT 1 FROM image_tags WHERE image_id = i.id AND tag_id {ids_sql})",
                params)
    if isinstance(node, SqlFilter):
        return f"({node.sql})", list(node.params)
    if isinstance(node, Not):
        sql, params = where_sql(node.child)
        return f"NOT {sql}", params
    parts = [where_sql(c) for c in _ordered(node.children)]
    joiner = " AND " if isinstance(node, And) else " OR "
    return f"({joiner.join(p[0] for p in parts)})", [x for p in parts for x in p[1]]


def _ordered(children: tuple[Resolved, ...]) -> list[Resolved]:
    """Cheapest and most selective checks first: rare tags, then metatags, then the rest."""
    def cost(node: Resolved) -> tuple[int, int]:
        if isinstance(node, TagSet):
            return (0, node.count)
        return (1, 0) if isinstance(node, SqlFilter) else (2, 0)

    return sorted(children, key=cost)


# Rows of pictures moved out of every library folder (trash) stay for undo; not searched.
PRESENT = "i.folder_id IS NOT NULL"


def _filter_sql(tree: Resolved | None) -> tuple[str, list]:
    """FROM/WHERE for the tree, driven by the rarest positive tag when there is one."""
    if tree is None:
        return f"FROM images i WHERE {PRESENT}", []
    children = tree.children if isinstance(tree, And) else (tree,)
    drivers = [c for c in children if isinstance(c, TagSet) and c.ids]
    if not drivers:
        sql, params = where_sql(tree)
        return f"FROM images i WHERE {PRESENT} AND {sql}", params
    driver = min(drivers, key=lambda t: t.count)
    ids_sql, params = _ids_sql(driver.ids)
    rest = [c for c in children if c is not driver]
    where = f"i.id IN (SELECT image_id FROM image_tags WHERE tag_id {ids_sql})"
    if rest:
        sql, more = where_sql(And(tuple(rest)) if len(rest) > 1 else rest[0])
        where, params = f"{where} AND {sql}", params + more
    return f"FROM images i WHERE {PRESENT} AND {where}", params


def random_key_sql(seed: int) -> str:
    """A seeded shuffle as SQL; the executor computes the same key with numpy."""
    return f"(((i.id + {int(seed)}) * 2654435761) % 4294967296)"


def _order_sql(sort: Sort, score_sql: str | None) -> str:
    direction = " DESC" if sort.descending else ""
    key = {
        "id": None,
        "added": "i.added_at",
        "width": "i.width",
        "height": "i.height",
        "size": "i.size",
        "ratio": COLUMNS["ratio"],
        "path": "i.path",
        "tags": COLUMNS["tags"],
        "score": score_sql or "NULL",
        "quality": modelresults.quality_sql(),
        "random": random_key_sql(sort.seed or 0),
    }[sort.key]
    return f"{key}{direction}, i.id{direction}" if key else f"i.id{direction}"


def _score_sql(tree: Resolved | None) -> tuple[str | None, list]:
    children = tree.children if isinstance(tree, And) else (tree,) if tree else ()
    sets = [c for c in children if isinstance(c, TagSet) and c.ids]
    if not sets:
        return None, []
    parts, params = [], []
    for tag_set in sets:
        ids_sql, ids_params = _ids_sql(tag_set.ids)
        parts.append(f"COALESCE((SELECT MAX(COALESCE(score, 1.0)) FROM image_tags "
                     f"WHERE image_id = i.id AND tag_id {ids_sql}), 0)")
        params += ids_params
    return f"(({' + '.join(parts)}) / {len(parts)}.0)", params


def plan(conn: sqlite3.Connection, query: Query | str) -> Plan:
    """Resolve a parsed query (or query text) against the catalog's vocabulary."""
    if isinstance(query, str):
        query = parse(query)
    warnings: list[str] = []
    tree = _resolve(conn, query.root, warnings) if query.root is not None else None
    similarity = _similarity(query.root)
    default_key = "score" if similarity else "id"
    sort = query.sort or Sort(default_key, descending=True)
    if sort.key == "random" and sort.seed is None:
        sort = Sort("random", sort.descending, random.randrange(1 << 31))
    score_sql, score_params = _score_sql(tree)
    order_sql = _order_sql(sort, score_sql)
    from_where, params = _filter_sql(tree)
    if sort.key == "score" and score_sql:
        params = params + score_params
    sql = f"SELECT i.id {from_where} ORDER BY {order_sql}"
    return Plan(query, sql, params, similarity, sort, query.limit, tree, order_sql, score_sql,
                score_params, warnings)
