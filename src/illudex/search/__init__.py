"""Search: the query language, its planner and executor.

    result = search(conn, "1girl long_hair -monochrome width:>=800 sort:-size", limit=50)
    result.total, result.results  # [(image_id, path, score | None), ...]

Similarity terms (`similar:`, `text:`) parse and come back from `plan()` as
`plan.similarity`; `search` applies only the tag and metatag part. To combine, run the
similarity clauses against the vector index and pass the hits as `within={id: score}`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from illudex.search.executor import SearchResult, execute, matching_ids
from illudex.search.planner import Plan, QueryPlanError, SimilarityClause, plan
from illudex.search.query import Query, QuerySyntaxError, parse

__all__ = [
    "Plan",
    "Query",
    "QueryPlanError",
    "QuerySyntaxError",
    "SearchResult",
    "SimilarityClause",
    "execute",
    "matching_ids",
    "parse",
    "plan",
    "search",
]


def search(
    conn: sqlite3.Connection,
    query: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    within: Mapping[int, float] | None = None,
) -> SearchResult:
    """Images matching `query` (tags and metatags): one page from `offset`, and the total.

    Raises QuerySyntaxError (position, caret) or QueryPlanError for a query it cannot run.
    """
    return execute(conn, plan(conn, parse(query)), limit=limit, offset=offset, within=within)
