"""Planning and running queries against a real catalog."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from illudex.search import QueryPlanError, plan, search
from illudex.search.executor import matching_ids
from illudex.tags.edits import add_tags, remove_tags
from illudex.tags.vocabulary import add_alias, add_implication, add_translation

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from tests.tags.catalog_rows import add_image, new_catalog

TAGS = ["1girl", "solo", "long_hair", "smile", "monochrome", "red_hair", "blonde_hair", "dress"]


@pytest.fixture
def conn(tmp_path):
    conn = new_catalog(tmp_path)
    add_image(conn, "/art/a/one.png", ["1girl", "long_hair", "smile"], width=800, height=1200,
              size=3_000_000)
    add_image(conn, "/art/a/two.jpg", ["1girl", "long_hair", "monochrome"], width=1920,
              height=1080, size=500_000, fmt="JPEG")
    add_image(conn, "/art/b/three.png", {"zero_suit_samus": 0.9, "smile": 0.5},
              source="model:wd", width=1000, height=1000)
    add_image(conn, "/art/b/four.png", ["kantai_collection", "general"], width=600, height=900)
    add_image(conn, "/other/five.png", [], width=None, height=None)
    conn.execute("UPDATE tags SET category = 'rating' WHERE name = 'general'")
    add_alias(conn, "kancolle", "kantai_collection")
    add_translation(conn, "kantai_collection", "ja", "艦これ")
    add_implication(conn, "zero_suit_samus", "samus_aran")
    add_implication(conn, "samus_aran", "metroid")
    return conn


def paths(conn, query, **kw):
    return [Path(p).stem for _, p, _ in search(conn, query, **kw).results]


def same_both_ways(conn, query):
    """The cached fast path and the plain SQL plan agree, order included."""
    p = plan(conn, query)
    fast = matching_ids(conn, p).tolist()
    plain = [r[0] for r in conn.execute(p.sql, p.params)]
    assert fast == plain, query
    return fast


def test_tags_aliases_translations_and_implications(conn):
    assert paths(conn, "1girl long_hair -monochrome") == ["one"]
    assert paths(conn, "kancolle") == paths(conn, "艦これ") == ["four"]
    assert paths(conn, "metroid") == ["three"]  # zero_suit_samus -> samus_aran -> metroid
    assert paths(conn, "-metroid -1girl") == ["five", "four"]
    assert paths(conn, "*_hair") == ["two", "one"]
    assert paths(conn, "(monochrome OR metroid) smile") == ["three"]


def test_metatags(conn):
    assert paths(conn, "width:>=1000") == ["three", "two"]
    assert paths(conn, "ratio:>1") == ["two"]
    assert paths(conn, "ratio:16:9") == ["two"]
    assert paths(conn, "size:>2mb") == ["one"]
    assert paths(conn, "format:jpg") == ["two"]
    assert paths(conn, "rating:g") == ["four"]
    assert paths(conn, "folder:/art/b") == ["four", "three"]
    assert paths(conn, "folder:/art/b/") == ["four", "three"]
    assert paths(conn, "path:*.jpg") == ["two"]
    assert paths(conn, "path:TWO") == ["two"]  # no wildcard: a substring, any case
    assert paths(conn, "tags:0") == ["five"]
    assert paths(conn, "tags:>=3 -width:<1000") == ["two"]
    assert paths(conn, "-width:>0") == []  # unknown width is neither in nor out
    with pytest.raises(QueryPlanError, match="absolute"):
        plan(conn, "folder:art")


def test_sort_limit_offset_and_scores(conn):
    assert paths(conn, "sort:width") == ["five", "four", "one", "three", "two"]
    assert paths(conn, "sort:-size width:>0") == ["one", "two", "four", "three"]
    result = search(conn, "smile sort:score")
    assert [(Path(p).stem, s) for _, p, s in result.results] == [("three", 0.5), ("one", 1.0)]
    assert paths(conn, "sort:-score smile") == ["one", "three"]
    page = search(conn, "limit:3", limit=2, offset=1)
    assert page.total == 3 and [Path(p).stem for _, p, _ in page.results] == ["four", "three"]
    assert paths(conn, "sort:random:7") == paths(conn, "sort:random:7")
    assert sorted(paths(conn, "sort:random")) == sorted(paths(conn, ""))


def test_similarity_terms_come_back_for_the_caller(conn):
    p = plan(conn, 'similar:3~0.8 -text:"monochrome sketch"~0.3 1girl')
    assert [(c.kind, c.target, c.min_score, c.negated) for c in p.similarity] == [
        ("image", 3, 0.8, False), ("text", "monochrome sketch", 0.3, True)]
    assert p.sort.key == "score"
    ids = {r[0]: r[1] for r in conn.execute("SELECT id, path FROM images")}
    one, two = (i for i, path in ids.items() if Path(path).stem in ("one", "two"))
    result = search(conn, "similar:3 1girl", within={one: 0.7, two: 0.9, 3: 0.99})
    assert [(i, s) for i, _, s in result.results] == [(two, 0.9), (one, 0.7)]


def test_unknown_tag_warns_with_a_suggestion(conn):
    result = search(conn, "kancole")
    assert result.total == 0
    assert "kancole" in result.warnings[0] and "kantai_collection" in result.warnings[0]


def test_cached_posting_lists_follow_edits(conn):
    assert paths(conn, "dress") == []
    first = conn.execute("SELECT id FROM images ORDER BY id").fetchone()[0]
    add_tags(conn, [first], "dress")
    assert paths(conn, "dress") == ["one"]
    remove_tags(conn, [first], "dress")
    assert paths(conn, "dress") == []
    add_image(conn, "/art/new.png", ["dress"], width=5000, height=10)
    assert paths(conn, "dress width:>4000") == ["new"]
    conn.execute("UPDATE images SET width = 10 WHERE path = '/art/new.png'")
    assert paths(conn, "dress width:>4000") == []


def test_fast_path_equals_plain_sql_on_random_queries(tmp_path):
    conn = new_catalog(tmp_path)
    rng = random.Random(3)
    for n in range(120):
        tags = rng.sample(TAGS, rng.randint(0, 5))
        add_image(conn, f"/lib/{'ab'[n % 2]}/{n:03d}.png", tags, width=rng.choice([500, 1000]),
                  height=rng.choice([500, 800]), size=rng.randint(1, 4) * 1_000_000)
    add_implication(conn, "red_hair", "colour")
    terms = [*TAGS, "colour", "*_hair", "width:>=1000", "ratio:>1", "size:<2mb", "tags:>=3",
             "folder:/lib/a", "path:*7.png"]
    sorts = ["", "sort:width", "sort:-size", "sort:random:5", "sort:path", "sort:score",
             "sort:tags"]
    for _ in range(150):
        picked = [("-" if rng.random() < 0.3 else "") + rng.choice(terms)
                  for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            picked = [f"({picked[0]} OR {rng.choice(terms)})", *picked[1:]]
        same_both_ways(conn, " ".join(picked) + " " + rng.choice(sorts))
    # and against a direct reading of the catalog
    expected = {
        r[0] for r in conn.execute(
            "SELECT id FROM images i WHERE width >= 1000 AND EXISTS (SELECT 1 FROM image_tags "
            "it JOIN tags t ON t.id = it.tag_id WHERE it.image_id = i.id AND t.name = 'smile') "
            "AND NOT EXISTS (SELECT 1 FROM image_tags it JOIN tags t ON t.id = it.tag_id "
            "WHERE it.image_id = i.id AND t.name IN ('red_hair', 'blonde_hair', 'long_hair'))")
    }
    assert set(same_both_ways(conn, "smile width:>=1000 -*_hair")) == expected
