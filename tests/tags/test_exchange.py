"""Vocabulary import/export: booru CSV forms and JSON round trips."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from illudex.errors import InvalidInput
from illudex.tags.exchange import export_csv, export_json, import_csv, import_json
from illudex.tags.vocabulary import get_tag, list_aliases, list_implications, resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from tests.tags.catalog_rows import add_image, image_tag_names, new_catalog


def test_booru_alias_csv_with_chains_status_and_a_loop(tmp_path):
    conn = new_catalog(tmp_path)
    img = add_image(conn, "/a.png", ["kancolle"])
    csv_path = tmp_path / "aliases.csv"
    csv_path.write_text(
        "id,antecedent_name,consequent_name,status\n"
        "1,kancolle,kantai_collection,active\n"
        "2,kan colle,kancolle,active\n"
        "3,old_name,something,deleted\n"
        "4,kantai_collection,kan_colle,active\n",
        encoding="utf-8",
    )
    report = import_csv(conn, csv_path, "aliases")
    assert (report.applied, report.skipped) == (2, 1)
    assert len(report.errors) == 1 and "aliases.csv:5" in report.errors[0]
    assert "alias loop" in report.errors[0]
    assert image_tag_names(conn, img) == {"kantai_collection"}  # the tag was merged
    assert resolve(conn, "kan_colle").name == "kantai_collection"


def test_implications_and_tags_csv_round_trip(tmp_path):
    conn = new_catalog(tmp_path)
    (tmp_path / "imp.csv").write_text(
        "antecedent_name,consequent_name\nzero_suit_samus,samus_aran\nsamus_aran,metroid\n"
        "metroid,zero_suit_samus\n",
        encoding="utf-8",
    )
    report = import_csv(conn, tmp_path / "imp.csv", "implications")
    assert report.applied == 2 and "implication loop" in report.errors[0]
    (tmp_path / "tags.csv").write_text("name,category,post_count\nsamus_aran,4,10\n",
                                       encoding="utf-8")
    import_csv(conn, tmp_path / "tags.csv", "tags")
    assert get_tag(conn, "samus_aran").tag.category == "character"
    assert export_csv(conn, tmp_path / "out.csv", "implications") == 2
    (tmp_path / "other").mkdir()
    other = new_catalog(tmp_path / "other")
    import_csv(other, tmp_path / "out.csv", "implications")
    assert list_implications(other) == list_implications(conn)


def test_missing_column_is_a_clear_error(tmp_path):
    conn = new_catalog(tmp_path)
    (tmp_path / "x.csv").write_text("foo,bar\na,b\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="no column antecedent_name or alias"):
        import_csv(conn, tmp_path / "x.csv", "aliases")


def test_json_round_trip_keeps_the_whole_vocabulary(tmp_path):
    conn = new_catalog(tmp_path)
    (tmp_path / "t.csv").write_text(
        "tag,lang,name\nkantai_collection,ja,艦これ\nkantai_collection,zh,舰队收藏\n",
        encoding="utf-8",
    )
    import_csv(conn, tmp_path / "t.csv", "translations")
    (tmp_path / "a.csv").write_text("alias,tag\nkancolle,kantai_collection\n", encoding="utf-8")
    import_csv(conn, tmp_path / "a.csv", "aliases")
    data = export_json(conn, tmp_path / "v.json")
    (tmp_path / "other").mkdir()
    other = new_catalog(tmp_path / "other")
    reports = import_json(other, tmp_path / "v.json")
    assert all(not r.errors for r in reports.values())
    assert export_json(other, tmp_path / "w.json") == data
    assert list_aliases(other) == [("kancolle", "kantai_collection")]
    assert resolve(other, "舰队收藏").name == "kantai_collection"


@pytest.mark.parametrize("document", [
    {"tags": [5, None, ["a"], {"name": 3}, {"name": "ok_tag", "category": ["x"]}]},
    {"aliases": {"a": 5, "b": None, "c": ["x"]}},
    {"implications": [5, "ab", ["a"], ["a", 5], {"a": "b"}, ["a", "b", "c"]]},
    {"translations": ["x", {"tag": 1, "lang": "ja", "name": "y"}]},
])
def test_json_entries_of_the_wrong_type_are_refused_one_by_one(tmp_path, document):
    import json

    conn = new_catalog(tmp_path)
    tags = [*document.get("tags", []), {"name": "good"}]
    (tmp_path / "v.json").write_text(json.dumps({**document, "tags": tags}), encoding="utf-8")
    reports = import_json(conn, tmp_path / "v.json")
    refused = sum(len(r.errors) for r in reports.values())
    assert refused == sum(len(v) for v in document.values())
    assert all("expected" in e for r in reports.values() for e in r.errors)
    assert get_tag(conn, "good") is not None  # the good entry still went in


@pytest.mark.parametrize("document", [{"tags": {"a": 1}}, {"aliases": [["a", "b"]]},
                                      {"implications": "a b"}, {"translations": 3}])
def test_json_parts_of_the_wrong_type_are_a_clear_error(tmp_path, document):
    import json

    conn = new_catalog(tmp_path)
    (tmp_path / "v.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InvalidInput, match="must be"):
        import_json(conn, tmp_path / "v.json")
