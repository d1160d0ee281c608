"""The engine end to end (find_relations) and grouping with decisions (build_groups)."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from illudex.dupes import candidates, features
from illudex.dupes.engine import DEFAULT_THRESHOLD, Relation, build_groups, find_relations
from illudex.errors import InvalidInput
from tests.dupes.pictures import drawing, flag


def jpeg(im: Image.Image, quality: int = 50) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def hue_rotated(im: Image.Image, shift: int = 120) -> Image.Image:
    h, s, v = im.convert("HSV").split()
    return Image.merge("HSV", (h.point(lambda x: (x + shift) % 256), s, v)).convert("RGB")


@pytest.fixture(scope="module")
def library() -> dict[int, Image.Image]:
    """Ids → pictures: one drawing and its copies, a recolour, and unrelated drawings."""
    original = drawing(1)
    w, h = original.size
    return {
        10: original,
        11: original.resize((w // 2, h // 2), Image.LANCZOS),
        12: jpeg(original),
        13: ImageOps.expand(original, 15, fill="black"),
        14: original.crop((int(w * 0.05), int(h * 0.06), w - int(w * 0.04), h - int(h * 0.05))),
        15: ImageEnhance.Brightness(original).enhance(1.12),
        20: hue_rotated(original),
        30: drawing(2),
        31: drawing(3),
        32: drawing(4),
    }


@pytest.fixture(scope="module")
def relations(library: dict[int, Image.Image]) -> list[Relation]:
    items = [(i, features.extract(im)) for i, im in library.items()]
    return find_relations(items)


def test_copies_are_duplicates_of_the_original(relations: list[Relation]) -> None:
    dup = {(r.a, r.b) for r in relations if r.relation == "duplicate"}
    for copy in (11, 12, 13, 14, 15):
        assert (10, copy) in dup, copy
    assert all(r.similarity >= DEFAULT_THRESHOLD for r in relations if r.relation == "duplicate")


def test_the_recolour_is_an_alternate_and_strangers_are_nothing(
    relations: list[Relation],
) -> None:
    by_pair = {(r.a, r.b): r.relation for r in relations}
    assert by_pair.get((10, 20)) == "alternate"
    assert not any(20 in (r.a, r.b) and r.relation == "duplicate" for r in relations)
    assert not any({r.a, r.b} & {30, 31, 32} for r in relations if r.relation == "duplicate")


def test_a_whole_recolour_turns_every_hue_alike() -> None:
    """Two flags that share a layout differ in colour everywhere, like a recolour, but
    each stripe turned its own way (red to green, orange to yellow, blue kept) and
    lighter or darker: not alternates. The flag with every hue turned alike is one."""
    red, orange, blue = (200, 30, 30), (230, 120, 30), (30, 60, 200)
    green, yellow = (30, 150, 60), (240, 200, 40)
    pictures = {1: flag((red, orange, blue)), 2: flag((green, yellow, blue))}
    pictures[3] = hue_rotated(pictures[1], 100)
    found = find_relations([(i, features.extract(im)) for i, im in pictures.items()])
    assert {(r.a, r.b): r.relation for r in found} == {(1, 3): "alternate"}


def test_a_whole_recolour_keeps_every_colour_as_colourful() -> None:
    """Red to orange and orange to yellow turn alike, but blue turned grey: a hue turn
    keeps each colour as colourful as it was, so this is not a recolour."""
    red, orange, blue = (200, 30, 30), (230, 120, 30), (30, 60, 200)
    yellow, grey = (240, 200, 40), (128, 128, 128)
    pictures = {1: flag((red, orange, blue)), 2: flag((orange, yellow, grey))}
    pictures[3] = hue_rotated(pictures[1], 40)
    found = find_relations([(i, features.extract(im)) for i, im in pictures.items()])
    assert {(r.a, r.b): r.relation for r in found} == {(1, 3): "alternate"}


def test_groups_hold_the_copies_and_list_the_alternate(relations: list[Relation]) -> None:
    groups, alternates = build_groups([10, 11, 12, 13, 14, 15, 20, 30, 31, 32], relations, {})
    assert groups == [[10, 11, 12, 13, 14, 15]]
    assert len(alternates) == 1 and 20 in alternates[0]


def test_find_relations_is_deterministic_whatever_the_order(
    library: dict[int, Image.Image], relations: list[Relation]
) -> None:
    items = [(i, features.extract(im)) for i, im in library.items()]
    random.Random(7).shuffle(items)
    assert find_relations(items) == relations


def test_the_threshold_is_one_number_in_0_1(library: dict[int, Image.Image]) -> None:
    items = [(i, features.extract(im)) for i, im in list(library.items())[:4]]
    strict = find_relations(items, threshold=0.9999)
    assert all(r.relation != "duplicate" or r.similarity >= 0.9999 for r in strict)
    with pytest.raises(InvalidInput, match="threshold"):  # an option a person gives
        find_relations(items, threshold=1.5)


def test_bad_input_names_the_image() -> None:
    with pytest.raises(ValueError, match="image 7"):
        find_relations([(7, b"junk"), (8, features.extract(drawing(1)))])
    data = features.extract(drawing(1))
    with pytest.raises(ValueError, match="twice"):
        find_relations([(1, data), (1, data)])
    assert find_relations([(1, data)]) == []


def rel(a: int, b: int, relation: str = "duplicate", similarity: float = 0.95) -> Relation:
    return Relation(a, b, relation, similarity)


def test_alternates_stop_chaining() -> None:
    # 1~2~3 by duplicate links, but 1 and 3 are alternates: they must not share a group.
    relations = [rel(1, 2, similarity=0.97), rel(2, 3, similarity=0.9), rel(1, 3, "alternate")]
    groups, alternates = build_groups([1, 2, 3], relations, {})
    assert groups == [[1, 2]]  # the stronger link wins
    assert alternates == [(1, 3)]


def test_decisions_override_the_engine() -> None:
    relations = [rel(1, 2), rel(2, 3), rel(4, 5, "alternate")]
    groups, alternates = build_groups(
        [1, 2, 3, 4, 5], relations,
        {(2, 3): "not_duplicate", (4, 5): "duplicate", (1, 6): "duplicate"},
    )
    assert groups == [[1, 2], [4, 5]]  # 6 is not among the ids: its decision is ignored
    assert alternates == []
    groups, alternates = build_groups([1, 2, 3], relations, {(1, 2): "alternate"})
    assert groups == [[2, 3]]
    assert alternates == [(1, 2)]


def test_not_duplicate_blocks_a_whole_group_merge() -> None:
    relations = [rel(1, 2), rel(3, 4), rel(2, 3, similarity=0.9)]
    groups, _ = build_groups([1, 2, 3, 4], relations, {(1, 4): "not_duplicate"})
    assert groups == [[1, 2], [3, 4]]


def test_grouping_is_deterministic_and_sorted() -> None:
    relations = [rel(5, 9), rel(1, 3), rel(3, 7), rel(2, 8, "alternate"), rel(2, 4, "alternate")]
    first = build_groups(range(10), relations, {})
    assert first == build_groups(reversed(range(10)), list(reversed(relations)), {})
    groups, alternates = first
    assert groups == [[1, 3, 7], [5, 9]]
    assert alternates == [(2, 4), (2, 8), (4, 8)]  # 4 and 8: both variants of 2


def test_two_alternates_of_one_picture_are_alternates_of_each_other() -> None:
    # 1 is the original; 2 and 3 are its variants, with copies 4 (of 2) and 5 (of 1).
    relations = [rel(1, 5), rel(2, 4), rel(1, 2, "alternate"), rel(3, 5, "alternate")]
    groups, alternates = build_groups(range(1, 6), relations, {})
    assert groups == [[1, 5], [2, 4]]
    assert alternates == [(1, 2), (2, 3), (3, 5)]  # (2, 3): through the group of 1 and 5


def test_no_siblings_through_a_picture_with_many_look_alikes() -> None:
    # 1 has three alternates: more likely one of a set (signs sharing a frame) than a
    # drawing with variants, so its look-alikes are not made alternates of each other.
    relations = [rel(1, k, "alternate") for k in (2, 3, 4)]
    _, alternates = build_groups(range(1, 5), relations, {})
    assert alternates == [(1, 2), (1, 3), (1, 4)]


def test_siblings_that_are_duplicates_stay_one_group() -> None:
    relations = [rel(2, 3), rel(1, 2, "alternate"), rel(1, 3, "alternate")]
    groups, alternates = build_groups(range(1, 4), relations, {})
    assert groups == [[2, 3]]
    assert alternates == [(1, 2)]


def test_one_alternate_pair_per_pair_of_groups() -> None:
    relations = [rel(1, 2), rel(3, 4), rel(1, 3, "alternate", 0.5), rel(2, 4, "alternate", 0.6)]
    groups, alternates = build_groups([1, 2, 3, 4], relations, {})
    assert groups == [[1, 2], [3, 4]]
    assert alternates == [(2, 4)]  # the more similar of the two


def test_unknown_decisions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown duplicate decision"):
        build_groups([1, 2], [], {(1, 2): "maybe"})



def test_distinct_stops_chaining_and_is_never_shown() -> None:
    relations = [rel(1, 2, similarity=0.97), rel(2, 3, similarity=0.9), rel(1, 3, "distinct", 0.4)]
    groups, alternates = build_groups([1, 2, 3], relations, {})
    assert groups == [[1, 2]]
    assert alternates == []


def test_a_chain_is_checked_against_its_representative() -> None:
    """An original linked to its three copies, and an unrelated drawing that a single
    link (given here as a measured duplicate score) chained to one copy: the stranger
    is measured against the original and kept apart from it."""
    import numpy as np

    from illudex.dupes import candidates as cand
    from illudex.dupes.engine import _check_chains

    original = drawing(5)
    w, h = original.size
    pictures = [original, original.resize((w // 2, h // 2), Image.LANCZOS), jpeg(original),
                ImageEnhance.Brightness(original).enhance(1.1), drawing(6)]
    feats = [features.decode(features.extract(im)) for im in pictures]
    spaces = [cand.content_vectors(feats), cand.frame_vectors(feats)]
    pairs = np.array([[0, 1], [0, 2], [0, 3], [3, 4]])
    sims = [0.99, 0.99, 0.98, 0.9]
    linked = np.array([[s, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0] for s in sims])
    ids = [10, 11, 12, 13, 14]
    not_stored = np.zeros_like(linked)  # no comparison as stored to go by
    out = _check_chains(feats, ids, spaces, pairs, linked, not_stored, DEFAULT_THRESHOLD)
    assert [(r.a, r.b, r.relation) for r in out] == [(10, 14, "distinct")]
    links = [rel(ids[i], ids[j], similarity=s)
             for (i, j), s in zip(pairs.tolist(), sims, strict=True)]
    groups, _ = build_groups(ids, [*links, *out], {})
    assert groups == [[10, 11, 12, 13]]


def _tinted_part(im: Image.Image) -> Image.Image:
    """A pale tint over an oval part of a grey picture: visible, though every tinted
    pixel moved little in colour (the part-recolour that once stayed a duplicate)."""
    w, h = im.size
    tint = ImageOps.colorize(im.convert("L"), (0, 0, 0), (255, 255, 255), mid=(110, 140, 185))
    mask = Image.new("L", im.size, 0)
    ImageDraw.Draw(mask).ellipse((w // 5, h // 5, w * 3 // 5, h * 3 // 5), fill=255)
    return Image.composite(tint, im, mask)


def test_a_tinted_part_is_an_alternate_and_a_saturation_edit_is_not() -> None:
    grey = drawing(5).convert("L").convert("RGB")
    toned = ImageEnhance.Color(ImageEnhance.Brightness(grey).enhance(0.9)).enhance(1.15)
    items = [(1, features.extract(grey)), (2, features.extract(_tinted_part(grey))),
             (3, features.extract(jpeg(toned, 92)))]
    found = {(r.a, r.b): r.relation for r in find_relations(items)}
    assert found.get((1, 2)) == "alternate", found
    assert found.get((1, 3)) == "duplicate", found


def test_a_large_erased_part_is_one_region_and_an_alternate() -> None:
    # An oval over a third of the drawing's side: wider than the fixed window that
    # `rest` measures in, but one connected region of change.
    im = drawing(11, (400, 320))
    erased = im.copy()
    ImageDraw.Draw(erased).ellipse((80, 64, 220, 176), fill="white")
    found = find_relations([(1, features.extract(im)), (2, features.extract(erased))])
    assert [(r.a, r.b, r.relation) for r in found] == [(1, 2, "alternate")]


def test_an_alternate_not_near_as_a_whole_is_found_through_its_unchanged_half() -> None:
    """A part erased moves the whole picture's search vector; each picture's nearest as
    a whole is then its own copy, and the original and the alternate meet through the
    half of the picture the erasure left alone."""
    im = drawing(11, (400, 320))
    erased = im.copy()
    ImageDraw.Draw(erased).ellipse((80, 64, 220, 176), fill="white")
    pictures = {1: im, 2: jpeg(im, 80), 3: erased, 4: jpeg(erased, 80)}
    items = [(i, features.extract(p)) for i, p in pictures.items()]
    decoded = [features.decode(data) for _, data in items]
    whole, _, _ = candidates.candidate_pairs(
        [candidates.content_vectors(decoded), candidates.frame_vectors(decoded)], k=1)
    across = {(0, 2), (0, 3), (1, 2), (1, 3)}
    assert not across & {tuple(p) for p in whole.tolist()}
    found = {(r.a, r.b): r.relation for r in find_relations(items, k=1)}
    assert "alternate" in {found.get(p) for p in [(1, 3), (1, 4), (2, 3), (2, 4)]}, found
    assert found.get((1, 2)) == "duplicate" and found.get((3, 4)) == "duplicate"
