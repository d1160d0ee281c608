"""Running a plan: tag logic on cached posting lists, metatags and order in SQL.

Each tag's posting list (its sorted image ids) is cached in `tag_postings` as a blob,
stamped with the tag's `generation` (bumped by triggers whenever an image gains or loses
the tag), so a stale list is noticed and rebuilt from image_tags. Intersections, unions
and differences of those lists in numpy take a millisecond where probing image_tags row
by row takes tens; metatag conditions and ordering then run in SQL over the candidates.
Plans whose metatags sit under OR or NOT (mixed with tags) run as plain SQL instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from illudex.catalog import searchcache
from illudex.catalog.idlists import IN_LIST, as_param
from illudex.catalog.searchcache import ALL_IMAGES
from illudex.search.planner import Plan, Resolved, SqlFilter, TagSet, where_sql
from illudex.search.query import And, Not, Or


@dataclass(frozen=True)
class SearchResult:
    """One page of matches (image id, path, score or None) and how many match in all."""

    results: list[tuple[int, str, float | None]]
    total: int
    warnings: tuple[str, ...] = ()


# -- posting lists -------------------------------------------------------------------------


def _build(conn: sqlite3.Connection, tag_id: int) -> tuple[int, np.ndarray]:
    """A posting list and the generation it is valid for, read in one snapshot."""
    generation, found = searchcache.posting(conn, tag_id)
    ids = np.fromiter(found, dtype="<i8", count=len(found))
    ids.sort()
    return generation, ids


def posting_lists(conn: sqlite3.Connection, tag_ids: list[int]) -> dict[int, np.ndarray]:
    """Sorted image-id arrays for these tags (ALL_IMAGES = 0 for every image)."""
    wanted = sorted(set(tag_ids))
    current = searchcache.generations(conn, wanted)
    cached = searchcache.cached_postings(conn, wanted)
    out: dict[int, np.ndarray] = {}
    fresh: dict[int, tuple[int, np.ndarray]] = {}
    for tag_id in wanted:
        if tag_id not in current:
            out[tag_id] = np.empty(0, dtype="<i8")  # deleted since planning
        elif tag_id in cached and cached[tag_id][0] == current[tag_id]:
            out[tag_id] = np.frombuffer(cached[tag_id][1], dtype="<i8")
        else:
            fresh[tag_id] = _build(conn, tag_id)
            out[tag_id] = fresh[tag_id][1]
    searchcache.store_postings(conn, [(t, g, ids.tobytes()) for t, (g, ids) in fresh.items()])
    return out


# -- image columns -------------------------------------------------------------------------

# Cached columns and how to read them from images; 'tags' (tag count) has its own version.
COLUMN_SQL = {
    "id": ("i.id", "<i8"),
    "width": ("i.width", "<f8"),
    "height": ("i.height", "<f8"),
    "size": ("i.size", "<f8"),
    "added": ("i.added_at", "<f8"),
    "format": ("lower(COALESCE(i.format, ''))", "S16"),
    "animated": ("i.animated", "<f8"),
    "alpha": ("i.has_alpha", "<f8"),
}
NUMPY_SORTS = {"id", "random", "width", "height", "size", "added", "ratio", "tags"}


def image_columns(conn: sqlite3.Connection, names: set[str]) -> dict[str, np.ndarray]:
    """Cached image columns, aligned with the sorted ids in 'id' (NULL as NaN)."""
    names = set(names) | {"id"}
    images_version, tagging_version = searchcache.versions(conn)
    stored = searchcache.cached_columns(conn, names)
    want_tags = "tags" in names
    plain = {n for n in names if n != "tags"}
    out: dict[str, np.ndarray] = {}
    fresh: dict[str, tuple[int, np.ndarray]] = {}
    if all(n in stored and stored[n][0] == images_version for n in plain):
        for n in plain:
            out[n] = np.frombuffer(stored[n][1], dtype=COLUMN_SQL[n][1])
    else:
        version, columns = _build_columns(conn)
        out.update(columns)
        fresh.update({n: (version, a) for n, a in columns.items()})
    if want_tags:  # valid for one state of both the images and their tags
        stamp = (images_version << 32) | (tagging_version & 0xFFFFFFFF)
        if "tags" in stored and stored["tags"][0] == stamp:
            out["tags"] = np.frombuffer(stored["tags"][1], dtype="<f8")
        else:
            out["tags"] = _tag_counts(conn, out["id"])
            fresh["tags"] = (stamp, out["tags"])
    searchcache.store_columns(conn, [(n, g, a.tobytes()) for n, (g, a) in fresh.items()])
    return {n: out[n] for n in plain | ({"tags"} if want_tags else set())}


def _build_columns(conn: sqlite3.Connection) -> tuple[int, dict[str, np.ndarray]]:
    version, rows = searchcache.column_rows(conn, ", ".join(sql for sql, _ in COLUMN_SQL.values()))
    columns = {}
    for index, (name, (_, dtype)) in enumerate(COLUMN_SQL.items()):
        values = [r[index] for r in rows]
        if dtype == "<f8":
            values = [np.nan if v is None else v for v in values]
        columns[name] = np.array(values, dtype=dtype)
    return version, columns


def _tag_counts(conn: sqlite3.Connection, ids: np.ndarray) -> np.ndarray:
    rows = searchcache.tag_count_rows(conn)
    counts = np.zeros(len(ids), dtype="<f8")
    if rows:
        pairs = np.array(rows, dtype="<i8")
        pos = np.searchsorted(ids, pairs[:, 0])
        ok = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == pairs[:, 0])
        counts[pos[ok]] = pairs[ok, 1]
    return counts


def _column_values(columns: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = columns["width"] / columns["height"]
        return np.where(np.isfinite(ratio), ratio, np.nan)
    return columns[name].astype("<f8") if name == "id" else columns[name]


def _filter_mask(f: SqlFilter, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(matches, known) for one metatag over every image; unknown = NULL in SQL."""
    if f.column == "format":
        values = columns["format"]
        return np.isin(values, [v.encode() for v in f.values]), np.ones(len(values), bool)
    values = _column_values(columns, f.column)
    known = ~np.isnan(values)
    r, match = f.range, known.copy()
    if r.lo is not None:
        match &= (values >= r.lo) if r.lo_inclusive else (values > r.lo)
    if r.hi is not None:
        match &= (values <= r.hi) if r.hi_inclusive else (values < r.hi)
    return match, known


# -- evaluating the tag logic --------------------------------------------------------------


def _tag_ids(node: Resolved) -> set[int]:
    if isinstance(node, TagSet):
        return set(node.ids)
    if isinstance(node, Not | And | Or):
        children = (node.child,) if isinstance(node, Not) else node.children
        return set().union(*(_tag_ids(c) for c in children))
    return set()


def _evaluate(node: Resolved, lists: dict[int, np.ndarray], universe: np.ndarray) -> np.ndarray:
    """Boolean mask over image ids 0..max for the tag logic of `node`."""
    if isinstance(node, TagSet):
        mask = np.zeros(len(universe), dtype=bool)
        for tag_id in node.ids:
            ids = lists[tag_id]
            mask[ids[ids < len(mask)]] = True
        return mask
    if isinstance(node, Not):
        return universe & ~_evaluate(node.child, lists, universe)
    masks = [_evaluate(c, lists, universe) for c in node.children]
    combine = np.logical_and if isinstance(node, And) else np.logical_or
    return combine.reduce(masks)


def _split(tree: Resolved | None) -> tuple[Resolved | None, list[Resolved]] | None:
    """(tag part, top-level metatag parts) when metatags are only ANDed at the top; else None."""
    if tree is None:
        return None, []
    children = tree.children if isinstance(tree, And) else (tree,)
    tags, filters = [], []
    for child in children:
        inner = child.child if isinstance(child, Not) else child
        if isinstance(inner, SqlFilter):
            filters.append(child)
        elif _has_sql(inner):
            return None
        else:
            tags.append(child)
    tag_part = None if not tags else tags[0] if len(tags) == 1 else And(tuple(tags))
    return tag_part, filters


def _has_sql(node: Resolved) -> bool:
    if isinstance(node, SqlFilter):
        return True
    if isinstance(node, Not):
        return _has_sql(node.child)
    if isinstance(node, And | Or):
        return any(_has_sql(c) for c in node.children)
    return False


# -- running -------------------------------------------------------------------------------


def matching_ids(conn: sqlite3.Connection, plan: Plan) -> np.ndarray:
    """Every matching image id, in the plan's order (similarity clauses not applied)."""
    split = _split(plan.tree)
    if split is None:
        return _run_sql(conn, plan.sql, plan.params)
    tag_part, filters = split
    universe_ids = posting_lists(conn, [ALL_IMAGES])[ALL_IMAGES]
    ids = universe_ids
    if tag_part is not None:
        lists = posting_lists(conn, sorted(_tag_ids(tag_part)))
        size = int(max([universe_ids[-1] if len(universe_ids) else 0]
                       + [a[-1] for a in lists.values() if len(a)])) + 1
        universe = np.zeros(size, dtype=bool)
        universe[universe_ids] = True
        ids = np.flatnonzero(_evaluate(tag_part, lists, universe) & universe)
    numpy_filters = [f for f in filters if _inner(f).column is not None]
    sql_filters = [f for f in filters if _inner(f).column is None]
    needs_columns = bool(numpy_filters) or plan.sort.key in NUMPY_SORTS - {"id", "random"}
    if needs_columns:
        names = {_inner(f).column for f in numpy_filters} | {plan.sort.key}
        names |= {"width", "height"} if "ratio" in names else set()
        columns = image_columns(conn, (names & (set(COLUMN_SQL) | {"tags"})))
        ids = _apply_filters(ids, numpy_filters, columns)
    if sql_filters or plan.sort.key not in NUMPY_SORTS:
        return _sql_over(conn, plan, ids, sql_filters)
    return _order(ids, plan, columns if needs_columns else None)


def _inner(node: Resolved) -> SqlFilter:
    return node.child if isinstance(node, Not) else node


def _apply_filters(
    ids: np.ndarray, filters: list[Resolved], columns: dict[str, np.ndarray]
) -> np.ndarray:
    if not filters:
        return ids
    keep = np.ones(len(columns["id"]), dtype=bool)
    for node in filters:
        match, known = _filter_mask(_inner(node), columns)
        keep &= (known & ~match) if isinstance(node, Not) else match
    pos = np.searchsorted(columns["id"], ids)
    pos_ok = pos < len(columns["id"])
    pos_ok[pos_ok] &= columns["id"][pos[pos_ok]] == ids[pos_ok]  # caches built apart
    ids, pos = ids[pos_ok], pos[pos_ok]
    return ids[keep[pos]]


def _order(ids: np.ndarray, plan: Plan, columns: dict[str, np.ndarray] | None) -> np.ndarray:
    key = plan.sort.key
    if key == "random":
        values = ((ids + (plan.sort.seed or 0)) * 2654435761) % 4294967296
    elif key == "id":
        values = None
    else:
        pos = np.searchsorted(columns["id"], ids)
        values = _column_values(columns, key)[pos]
    if values is not None:
        if key != "random":  # SQL puts NULL first ascending; so does -inf
            values = np.where(np.isnan(values), -np.inf, values)
        ids = ids[np.lexsort((ids, values))]
    return ids[::-1] if plan.sort.descending else ids


def _sql_over(
    conn: sqlite3.Connection, plan: Plan, ids: np.ndarray, filters: list[Resolved]
) -> np.ndarray:
    """The remaining SQL-only filters and order, over candidate ids."""
    where = [f"i.id IN {IN_LIST}"]
    params: list = [as_param(ids.tolist())]
    for part in filters:
        sql, more = where_sql(part)
        where.append(sql)
        params += more
    if plan.sort.key == "score" and plan.score_sql:
        params += plan.score_params
    clause = " AND ".join(where)
    return _run_sql(conn, f"SELECT i.id FROM images i WHERE {clause} ORDER BY {plan.order_sql}",
                    params)


def _run_sql(conn: sqlite3.Connection, sql: str, params: list) -> np.ndarray:
    cur = conn.cursor()
    cur.row_factory = None
    rows = cur.execute(sql, params).fetchall()
    return np.fromiter((r[0] for r in rows), dtype="<i8", count=len(rows))


def execute(
    conn: sqlite3.Connection,
    plan: Plan,
    *,
    limit: int | None = None,
    offset: int = 0,
    within: Mapping[int, float] | None = None,
) -> SearchResult:
    """Run a plan; one page (`limit` from `offset`) and the total.

    `within` (image id → similarity score, from the vector index) restricts the matches
    to those ids and, when the sort is by score (the default with similarity terms),
    orders them by it, best first.
    """
    ids = matching_ids(conn, plan)
    if within is not None:
        ids = _restrict(ids, within, plan)
    if plan.limit is not None:
        ids = ids[: plan.limit]
    total = len(ids)
    page = ids[offset:] if limit is None else ids[offset : offset + limit]
    return SearchResult(_rows(conn, plan, page.tolist(), within), total, tuple(plan.warnings))


def _restrict(ids: np.ndarray, within: Mapping[int, float], plan: Plan) -> np.ndarray:
    allowed = np.fromiter(within.keys(), dtype="<i8", count=len(within))
    ids = ids[np.isin(ids, allowed)]
    if plan.sort.key == "score":
        scores = np.array([within[int(i)] for i in ids], dtype=float)
        order = np.argsort(-scores if plan.sort.descending else scores, kind="stable")
        ids = ids[order]
    return ids


def _rows(
    conn: sqlite3.Connection, plan: Plan, page: list[int], within: Mapping[int, float] | None
) -> list[tuple[int, str, float | None]]:
    if not page:
        return []
    score_sql = plan.score_sql if within is None and plan.score_sql else "NULL"
    params = plan.score_params if score_sql != "NULL" else []
    rows = conn.execute(
        f"SELECT i.id, i.path, {score_sql} FROM images i "
        f"WHERE i.id IN {IN_LIST}",
        [*params, as_param(page)],
    ).fetchall()
    found = {int(r[0]): (r[1], r[2]) for r in rows}
    out = []
    for image_id in page:
        if image_id in found:
            path, score = found[image_id]
            if within is not None:
                score = within.get(image_id)
            out.append((image_id, path, None if score is None else float(score)))
    return out
