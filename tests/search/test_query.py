"""The query language parser."""

from __future__ import annotations

import re

import pytest

from illudex.search.query import (
    And,
    Meta,
    Not,
    Or,
    QuerySyntaxError,
    Similar,
    Sort,
    TagTerm,
    parse,
)


def names(node):
    if isinstance(node, TagTerm):
        return node.name
    if isinstance(node, Not):
        return ("not", names(node.child))
    if isinstance(node, And | Or):
        return (type(node).__name__.lower(), *[names(c) for c in node.children])
    return node


def test_and_not_or_parentheses_and_precedence():
    assert names(parse("1girl Long_Hair -monochrome").root) == (
        "and", "1girl", "long_hair", ("not", "monochrome"))
    assert names(parse("(blonde_hair OR red_hair) dress").root) == (
        "and", ("or", "blonde_hair", "red_hair"), "dress")
    assert names(parse("a | b c").root) == ("or", "a", ("and", "b", "c"))
    assert names(parse("NOT a AND b").root) == ("and", ("not", "a"), "b")


def test_tags_with_parentheses_colons_and_quotes():
    assert names(parse("(saber_(fate) OR rin)").root) == ("or", "saber_(fate)", "rin")
    assert names(parse(":) re:zero").root) == ("and", ":)", "re:zero")
    assert names(parse('"long hair" -"-_-" "width:x"').root) == (
        "and", "long_hair", ("not", "-_-"), "width:x")
    assert parse("*_hair").root.wildcard


def test_metatag_ranges_units_and_lists():
    terms = parse("width:>=1000 ratio:1.5..2 size:>2mb height:..800 tags:0 "
                  "ratio:16:9 size:1mb rating:g|s format:jpg,png").root.children
    width, ratio, size, height, tags, wide, about, rating, fmt = terms
    assert (width.range.lo, width.range.lo_inclusive, width.range.hi) == (1000, True, None)
    assert (ratio.range.lo, ratio.range.hi) == (1.5, 2)
    assert (size.range.lo, size.range.lo_inclusive) == (2 * 1024**2, False)
    assert (height.range.lo, height.range.hi) == (None, 800)
    assert tags.range.contains(0) and not tags.range.contains(1)
    assert wide.range.contains(1920 / 1080) and not wide.range.contains(1.7)
    assert about.range.contains(1.04 * 1024**2) and not about.range.contains(1.1 * 1024**2)
    assert rating.values == ("general", "sensitive")
    assert fmt.values == ("jpeg", "png")
    assert isinstance(fmt, Meta)


def test_sort_limit_and_similarity_terms():
    q = parse('sort:-size limit:20 similar:123~0.8 text:"a girl with a red umbrella"~0.25 '
              '-similar:"/p/a b.png"~0.9 smile')
    assert q.sort == Sort("size", descending=True) and q.limit == 20
    image, text, negated, tag = q.root.children
    assert image == Similar("image", 123, 0.8, image.pos)
    assert (text.kind, text.target, text.min_score) == ("text", "a girl with a red umbrella", 0.25)
    assert negated.child.target == "/p/a b.png" and tag.name == "smile"
    assert parse("sort:random:42").sort == Sort("random", False, 42)
    assert parse("sort:width").root is None


@pytest.mark.parametrize(
    ("query", "position", "message"),
    [
        ("(a b", 0, "unclosed '('"),
        ("a )", 2, "without its '('"),
        ("a OR", 4, "expected a term"),
        ("width:>=abc", 6, "bad width"),
        ('"abc', 0, "unclosed quote"),
        ("x (similar:1 OR b)", 3, "AND only"),
        ("-similar:3", 0, "needs a cut-off"),
        ("(a OR sort:width)", 6, "whole query"),
        ("ratio:2..1", 6, "starts above"),
        ("similar:3~1.5", 8, "between 0 and 1"),
        ("rating:safeish", 7, "unknown rating"),
    ],
)
def test_syntax_errors_point_at_the_trouble(query, position, message):
    with pytest.raises(QuerySyntaxError, match=re.escape(message)) as caught:
        parse(query)
    assert caught.value.position == position
    caret_line = str(caught.value).splitlines()[-1]
    assert caret_line == "  " + " " * position + "^"
