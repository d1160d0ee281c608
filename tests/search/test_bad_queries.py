"""Queries no one should write still get a syntax error with a position, never a crash:
nesting past the limit, ids past 64 bits, and whatever hypothesis can think of."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from illudex.catalog.db import connect
from illudex.search import QueryPlanError, QuerySyntaxError, parse, search
from illudex.search.query import MAX_NESTING

# Characters the query language gives a meaning to, and a few others.
ALPHABET = st.sampled_from([*'()-"~:*|., \\', "OR", "NOT", "AND", "a", "b", "1", "é",
                            "width:", "similar:", "sort:", "limit:", "rating:", "size:", "id:",
                            "added:"])


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    db = connect(tmp_path_factory.mktemp("q") / "catalog.db")
    yield db
    db.close()


@pytest.mark.parametrize("text", ["(" * 2000, "-" * 5000 + "a", "NOT " * 3000 + "a",
                                  "(-" * 1500 + "a" + ")" * 1500])
def test_deep_nesting_is_a_syntax_error_with_a_position(text: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert "too deeply nested" in caught.value.reason
    assert 0 <= caught.value.position < len(text)


def test_nesting_up_to_the_limit_still_parses(conn: sqlite3.Connection) -> None:
    depth = MAX_NESTING
    query = "(" * (depth // 2) + "-" * (depth // 2) + "a" + ")" * (depth // 2)
    assert search(conn, query).total == 0  # parses, plans and runs


@pytest.mark.parametrize("text", ["similar:99999999999999999999", "limit:99999999999999999999",
                                  "sort:random:99999999999999999999"])
def test_numbers_past_64_bits_are_syntax_errors(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse(text)


def test_huge_id_ranges_run(conn: sqlite3.Connection) -> None:
    assert search(conn, "id:>99999999999999999999").total == 0
    assert search(conn, "id:1..99999999999999999999").total == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_any_query_runs_or_is_refused_clearly(conn: sqlite3.Connection, text: str) -> None:
    try:
        search(conn, text, limit=5)
    except (QuerySyntaxError, QueryPlanError) as e:
        assert str(e)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_runs_or_is_refused_clearly(conn: sqlite3.Connection, text: str) -> None:
    try:
        search(conn, text, limit=5)
    except (QuerySyntaxError, QueryPlanError) as e:
        assert str(e)



@pytest.mark.parametrize("text", ["limit:²", "sort:random:²", "limit:٣"])
def test_digits_other_than_0_to_9_are_syntax_errors(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse(text)
