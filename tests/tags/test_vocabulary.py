"""The tag vocabulary: names, counts, aliases, implications, translations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from illudex.tags.history import undo_tag_edit
from illudex.tags.vocabulary import (
    VocabularyError,
    add_alias,
    add_implication,
    add_translation,
    alias_impact,
    delete_tag,
    get_tag,
    implication_impact,
    implied_closure,
    implying_closure,
    list_aliases,
    list_tags,
    normalize_tag,
    remove_alias,
    remove_implication,
    rename_tag,
    resolve,
    resolve_ids,
    set_category,
    tagged_images,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
from tests.tags.catalog_rows import add_image, image_tag_names, new_catalog


def test_normalize_tag_gives_booru_form():
    assert normalize_tag("  Long Hair ") == "long_hair"
    assert normalize_tag("Kantai  Collection") == "kantai_collection"
    assert normalize_tag("艦これ") == "艦これ"
    with pytest.raises(VocabularyError, match="empty tag name"):
        normalize_tag("   ")


def test_counts_are_distinct_images_across_sources_and_follow_deletes(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", ["1girl", "smile"])
    add_image(conn, "/b.png", ["1girl"])
    add_image(conn, "/c.png", ["1girl"], source="model:wd")
    tag_id = resolve_ids(conn, "1girl")[0]
    # the same tag from a second source, and a model rerun replacing its row
    conn.execute("INSERT INTO image_tags VALUES (?, ?, 'model:wd', 0.9)", (a, tag_id))
    conn.execute("INSERT OR REPLACE INTO image_tags VALUES (?, ?, 'model:wd', 0.95)", (a, tag_id))
    assert resolve(conn, "1girl").count == 3
    conn.execute("DELETE FROM images WHERE id = ?", (a,))
    tags = {t.name: t.count for t in list_tags(conn)}
    assert tags == {"1girl": 2, "smile": 0}
    assert [t.name for t in list_tags(conn, min_count=1)] == ["1girl"]


def test_get_tag_reports_sources_aliases_implications_translations(tmp_path):
    conn = new_catalog(tmp_path)
    add_image(conn, "/a.png", ["kantai_collection"])
    add_image(conn, "/b.png", {"kantai_collection": 0.8}, source="model:wd")
    add_alias(conn, "kancolle", "kantai_collection")
    add_translation(conn, "kantai_collection", "ja", "艦これ")
    add_implication(conn, "kantai_collection", "naval")
    set_category(conn, "kancolle", "copyright")
    detail = get_tag(conn, "艦これ")
    assert detail.tag.name == "kantai_collection"
    assert detail.tag.category == "copyright"
    assert detail.aliases == ("kancolle",)
    assert detail.implies == ("naval",)
    assert detail.translations == (("ja", "艦これ"),)
    assert detail.sources == {"sidecar": 1, "model": 1}
    assert get_tag(conn, "naval").implied_by == ("kantai_collection",)
    assert get_tag(conn, "no_such_tag") is None
    with pytest.raises(VocabularyError, match="unknown tag category"):
        set_category(conn, "naval", "weapons")


def test_alias_of_alias_resolves_to_final_tag(tmp_path):
    conn = new_catalog(tmp_path)
    add_alias(conn, "kancolle", "kantai_collection")
    add_alias(conn, "kan colle", "kancolle")
    assert resolve(conn, "Kan Colle").name == "kantai_collection"
    assert ("kan_colle", "kantai_collection") in list_aliases(conn)
    assert remove_alias(conn, "kan_colle") and resolve(conn, "kan_colle") is None


def test_alias_cycles_are_refused(tmp_path):
    conn = new_catalog(tmp_path)
    add_alias(conn, "b", "a")
    with pytest.raises(VocabularyError, match="alias loop"):
        add_alias(conn, "a", "b")
    with pytest.raises(VocabularyError, match="alias loop"):
        add_alias(conn, "a", "a")
    assert resolve(conn, "b").name == "a"


def test_alias_naming_an_existing_tag_merges_it_undoably(tmp_path):
    conn = new_catalog(tmp_path)
    img = add_image(conn, "/a.png", ["kancolle", "smile"])
    add_alias(conn, "kc", "kancolle")  # an alias of the tag that is about to go
    edit = add_alias(conn, "kancolle", "kantai_collection")
    assert edit is not None
    assert image_tag_names(conn, img) == {"kantai_collection", "smile"}
    assert resolve(conn, "kc").name == "kantai_collection"
    assert resolve(conn, "kancolle").name == "kantai_collection"


def test_implication_closure_and_loop_refusal(tmp_path):
    conn = new_catalog(tmp_path)
    add_implication(conn, "zero_suit_samus", "samus_aran")
    add_implication(conn, "samus_aran", "metroid")
    ids = {n: resolve_ids(conn, n)[0] for n in ("zero_suit_samus", "samus_aran", "metroid")}
    assert implied_closure(conn, [ids["zero_suit_samus"]]) == set(ids.values())
    assert implying_closure(conn, [ids["metroid"]]) == set(ids.values())
    with pytest.raises(VocabularyError, match="implication loop"):
        add_implication(conn, "metroid", "zero_suit_samus")
    with pytest.raises(VocabularyError, match="same tag"):
        add_implication(conn, "metroid", "metroid")
    assert remove_implication(conn, "samus_aran", "metroid")
    assert implying_closure(conn, [ids["metroid"]]) == {ids["metroid"]}


def test_shared_translation_resolves_to_every_tag(tmp_path):
    conn = new_catalog(tmp_path)
    add_image(conn, "/a.png", ["cat", "cat_ears"])
    add_image(conn, "/b.png", ["cat"])
    add_translation(conn, "cat", "ja", "猫")
    add_translation(conn, "cat_ears", "ja", "猫")
    names = [get_tag(conn, i).tag.name for i in resolve_ids(conn, "猫")]
    assert names == ["cat", "cat_ears"]  # most used first


def test_rename_keeps_the_old_name_as_an_alias_and_undoes_whole(tmp_path):
    conn = new_catalog(tmp_path)
    img = add_image(conn, "/a.png", ["kancolle", "smile"])
    add_translation(conn, "kancolle", "ja", "艦これ")
    add_implication(conn, "kancolle", "naval")
    edit = rename_tag(conn, "kancolle", "kantai collection")
    assert image_tag_names(conn, img) == {"kantai_collection", "smile"}
    detail = get_tag(conn, "kancolle")
    assert detail.tag.name == "kantai_collection" and detail.aliases == ("kancolle",)
    assert detail.implies == ("naval",) and detail.translations == (("ja", "艦これ"),)
    with pytest.raises(VocabularyError, match="merge the two tags"):
        rename_tag(conn, "smile", "kancolle")
    undo_tag_edit(conn, edit)
    assert image_tag_names(conn, img) == {"kancolle", "smile"}
    assert resolve_ids(conn, "kantai_collection") == []  # the new tag went with the undo
    assert get_tag(conn, "艦これ").tag.name == "kancolle"


def test_delete_takes_a_tag_off_every_picture_and_undo_brings_it_back(tmp_path):
    conn = new_catalog(tmp_path)
    a = add_image(conn, "/a.png", ["cat", "smile"])
    b = add_image(conn, "/b.png", {"cat": 0.9}, source="model:wd")
    add_alias(conn, "neko", "cat")
    add_implication(conn, "cat", "animal")
    edit = delete_tag(conn, "neko")
    assert resolve(conn, "cat") is None and resolve(conn, "neko") is None
    assert image_tag_names(conn, a) == {"smile"} and image_tag_names(conn, b) == set()
    assert get_tag(conn, "animal").implied_by == ()
    undo_tag_edit(conn, edit)
    assert tagged_images(conn, "neko") == [a, b]
    assert get_tag(conn, "cat").implies == ("animal",)


def test_impacts_count_the_pictures_a_change_would_touch(tmp_path):
    conn = new_catalog(tmp_path)
    add_image(conn, "/a.png", ["kancolle"])
    add_image(conn, "/b.png", ["kancolle", "naval"])
    add_image(conn, "/c.png", ["kantai_collection"])
    add_alias(conn, "kc", "kantai_collection")
    merged = alias_impact(conn, "kancolle", "kantai_collection")
    assert (merged.pictures, merged.replaces) == (2, None)
    moved = alias_impact(conn, "kc", "kancolle")
    assert (moved.pictures, moved.replaces) == (0, "kc → kantai_collection")
    assert implication_impact(conn, "kancolle", "naval").pictures == 1  # b has it already
    with pytest.raises(VocabularyError, match="no tag named"):
        implication_impact(conn, "kancolle", "navy")
