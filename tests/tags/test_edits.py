"""Batch tag edits on images, and undoing them."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from illudex.tags.edits import (
    add_tags,
    apply_implications,
    list_tag_edits,
    merge_tags,
    remove_tags,
    replace_tag,
    tags_for_sidecar,
    undo_tag_edit,
)
from illudex.tags.history import TagEditError
from illudex.tags.vocabulary import (
    add_alias,
    add_implication,
    add_translation,
    get_tag,
    list_tags,
    resolve,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from tests.tags.catalog_rows import add_image, image_tag_names, new_catalog


def _state(conn):
    """Everything an edit may touch, to compare before and after an undo."""
    tables = {
        "image_tags": "*",
        "tags": "id, name, category, image_count",
        "tag_aliases": "*",
        "tag_implications": "*",
        "tag_translations": "*",
    }
    return {
        t: sorted(tuple(r) for r in conn.execute(f"SELECT {cols} FROM {t}"))
        for t, cols in tables.items()
    }


def test_add_and_remove_on_a_selection_then_undo(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", ["smile"])
    b = add_image(conn, "/b.png", ["smile", "hat"])
    c = add_image(conn, "/c.png", ["hat"])
    before = _state(conn)
    added = add_tags(conn, [a, b], ["Red Scarf", "smile"])
    assert image_tag_names(conn, a) == {"smile", "red_scarf"}
    assert image_tag_names(conn, c) == {"hat"}
    assert resolve(conn, "red_scarf").count == 2
    removed = remove_tags(conn, [b, c], "hat")
    assert image_tag_names(conn, b) == {"smile", "red_scarf"} and image_tag_names(conn, c) == set()
    assert [e.id for e in list_tag_edits(conn)] == [removed, added]
    undo_tag_edit(conn, removed)
    undo_tag_edit(conn, added)
    assert _state(conn) == before  # the tag 'red_scarf' the edit created is gone again
    with pytest.raises(TagEditError, match="already undone"):
        undo_tag_edit(conn, added)
    with pytest.raises(TagEditError, match="no tag edit"):
        undo_tag_edit(conn, 999)


def test_edit_that_changes_nothing_records_nothing(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", ["smile"], source="user")
    assert add_tags(conn, [a], "smile") is None
    assert remove_tags(conn, [a], "no_such_tag") is None
    assert list_tag_edits(conn) == []
    with pytest.raises(TagEditError, match="no images"):
        add_tags(conn, [], "smile")


def test_replace_keeps_source_and_score_and_undoes(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", {"blue_hair": 0.8}, source="model:wd")
    b = add_image(conn, "/b.png", {"blue_hair": 0.7}, source="model:wd")
    before = _state(conn)
    edit = replace_tag(conn, [a], "blue_hair", "aqua_hair")
    rows = conn.execute(
        "SELECT t.name, it.source, it.score FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ?",
        (a,),
    ).fetchall()
    assert [tuple(r) for r in rows] == [("aqua_hair", "model:wd", 0.8)]
    assert image_tag_names(conn, b) == {"blue_hair"}
    undo_tag_edit(conn, edit)
    assert _state(conn) == before


def test_merge_moves_everything_and_undo_restores_the_tag(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", ["kancolle", "smile"])
    b = add_image(conn, "/b.png", ["kantai_collection", "kancolle"])
    add_alias(conn, "kc", "kancolle")
    add_translation(conn, "kancolle", "ja", "艦これ")
    add_implication(conn, "kancolle", "warship")
    before = _state(conn)
    edit = merge_tags(conn, "kantai_collection", "kancolle")
    assert image_tag_names(conn, a) == {"kantai_collection", "smile"}
    assert image_tag_names(conn, b) == {"kantai_collection"}
    detail = get_tag(conn, "kancolle")
    assert detail.tag.name == "kantai_collection" and detail.tag.count == 2
    assert set(detail.aliases) == {"kancolle", "kc"}
    assert detail.implies == ("warship",) and detail.translations == (("ja", "艦これ"),)
    undo_tag_edit(conn, edit)
    assert _state(conn) == before
    assert {t.name: t.count for t in list_tags(conn)}["kancolle"] == 2


def test_undo_refuses_when_a_deleted_tag_name_was_reused(tmp_path):
    conn = new_catalog(tmp_path)
    add_image(conn, "/a.png", ["a", "b"])
    edit = merge_tags(conn, "a", "b")
    conn.execute("DELETE FROM tag_aliases WHERE alias = 'b'")
    conn.execute("INSERT INTO tags (name) VALUES ('b')")
    with pytest.raises(TagEditError, match="created again"):
        undo_tag_edit(conn, edit)
    assert list_tag_edits(conn)[0].undone_at is None  # nothing half-done


def test_apply_implications_writes_transitive_tags_once(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", ["zero_suit_samus"])
    b = add_image(conn, "/b.png", ["samus_aran", "metroid"])
    add_implication(conn, "zero_suit_samus", "samus_aran")
    add_implication(conn, "samus_aran", "metroid")
    edit = apply_implications(conn)
    assert image_tag_names(conn, a) == {"zero_suit_samus", "samus_aran", "metroid"}
    sources = {r[0] for r in conn.execute("SELECT source FROM image_tags WHERE image_id = ?", (b,))}
    assert sources == {"sidecar"}  # b had them already: nothing implied added
    assert apply_implications(conn) is None
    undo_tag_edit(conn, edit)
    assert image_tag_names(conn, a) == {"zero_suit_samus"}


def test_tags_for_sidecar_orders_and_filters(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", {"smile": 0.9, "hat": 0.4, "general": 0.9}, source="model:wd")
    conn.execute("UPDATE tags SET category = 'rating' WHERE name = 'general'")
    add_tags(conn, [a], ["samus_aran", "zzz_user_tag"])
    conn.execute("UPDATE tags SET category = 'character' WHERE name = 'samus_aran'")
    add_implication(conn, "samus_aran", "metroid")
    apply_implications(conn)
    empty = add_image(conn, "/b.png", [])
    out = tags_for_sidecar(conn, [a, empty], min_model_score=0.5)
    assert out == {a: ["samus_aran", "zzz_user_tag", "smile"], empty: []}
    assert "general" in tags_for_sidecar(conn, [a], include_rating=True)[a]


def test_a_tag_edit_and_its_journal_entry_commit_together(tmp_path):
    """A process that dies between making an edit and journalling it must leave neither:
    an edit that is not journalled cannot be undone, and `undo` would reverse the edit
    before it instead. The death is a real failure of the journal's INSERT (a trigger)."""
    from illudex.library import Library

    lib = Library.open(tmp_path / "lib")
    try:
        image = add_image(lib.conn, "/a.png", ["1girl"])
        first = lib.tags.add([image], ["smile"])
        lib.conn.execute("CREATE TEMP TRIGGER die BEFORE INSERT ON actions "
                         "BEGIN SELECT RAISE(ABORT, 'killed'); END")
        with pytest.raises(sqlite3.IntegrityError, match="killed"):
            lib.tags.add([image], ["frown"])
        lib.conn.execute("DROP TRIGGER die")
        assert image_tag_names(lib.conn, image) == {"1girl", "smile"}
        assert len(list_tag_edits(lib.conn)) == 1
        report = lib.history.undo()
        assert report.action_id == first and report.conflicts == []
        assert image_tag_names(lib.conn, image) == {"1girl"}
    finally:
        lib.close()


def test_undoing_a_tag_edit_and_marking_it_undone_commit_together(tmp_path):
    """A failure after the catalog was put back but before the journal noted it would
    leave an undone edit the journal still offers (and a second undo that fails)."""
    from illudex.library import Library

    lib = Library.open(tmp_path / "lib")
    try:
        image = add_image(lib.conn, "/a.png", ["1girl"])
        lib.tags.add([image], ["smile"])
        lib.conn.execute("CREATE TEMP TRIGGER die BEFORE UPDATE ON journal "
                         "BEGIN SELECT RAISE(ABORT, 'killed'); END")
        with pytest.raises(sqlite3.IntegrityError, match="killed"):
            lib.history.undo()
        lib.conn.execute("DROP TRIGGER die")
        assert image_tag_names(lib.conn, image) == {"1girl", "smile"}
        assert lib.history.undo().conflicts == []
        assert image_tag_names(lib.conn, image) == {"1girl"}
    finally:
        lib.close()
