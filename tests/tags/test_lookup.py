"""Fuzzy tag lookup: prefix, substring, typos, aliases and other languages."""

from __future__ import annotations

import sys
from pathlib import Path

from illudex.tags.lookup import edit_distance, find
from illudex.tags.vocabulary import add_alias, add_translation

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from tests.tags.catalog_rows import add_image, new_catalog


def _catalog(tmp_path):
    conn = new_catalog(tmp_path)
    add_image(conn, "/a.png", ["kantai_collection", "long_hair", "1girl"])
    add_image(conn, "/b.png", ["long_hair", "1girl", "long_sleeves"])
    add_image(conn, "/c.png", ["very_long_hair", "1girl"])
    add_alias(conn, "kancolle", "kantai_collection")
    add_translation(conn, "kantai_collection", "ja", "艦これ")
    add_translation(conn, "kantai_collection", "zh", "舰队收藏")
    return conn


def test_typo_in_an_alias_finds_the_tag(tmp_path):
    match = find(_catalog(tmp_path), "kancole")[0]
    assert (match.tag.name, match.matched, match.via, match.reason, match.distance) == (
        "kantai_collection", "kancolle", "alias", "fuzzy", 1)


def test_other_languages_find_the_tag(tmp_path):
    conn = _catalog(tmp_path)
    assert find(conn, "艦これ")[0].reason == "exact"
    assert find(conn, "艦これ")[0].tag.name == "kantai_collection"
    assert find(conn, "舰队")[0].tag.name == "kantai_collection"  # a prefix


def test_ranking_exact_then_prefix_then_substring_popular_first(tmp_path):
    conn = _catalog(tmp_path)
    names = [(m.tag.name, m.reason) for m in find(conn, "long")]
    assert names == [("long_hair", "prefix"), ("long_sleeves", "prefix"),
                     ("very_long_hair", "substring")]
    assert find(conn, "1girl")[0].reason == "exact"
    assert [m.tag.name for m in find(conn, "lnog_hair")][:1] == ["long_hair"]


def test_index_follows_vocabulary_changes(tmp_path):
    conn = _catalog(tmp_path)
    assert find(conn, "kc") == []
    add_alias(conn, "kc", "kantai_collection")
    assert find(conn, "kc")[0].tag.name == "kantai_collection"


def test_edit_distance_counts_swaps_once_and_stops_at_limit():
    assert edit_distance("lnog", "long", 2) == 1
    assert edit_distance("kancole", "kancolle", 2) == 1
    assert edit_distance("abc", "xyz123", 2) == 3
