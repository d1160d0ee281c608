"""Which copy to keep: by default the original (what the engine's pairwise verdicts say,
see test_keeper_original.py) > lossless > has tags > older; any order of the criteria
(resolution, larger file ...) on request; and a reason in words."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from illudex.dupes.keeper import DEFAULT_PREFERENCE, Candidate, choose_keeper, validate
from illudex.errors import InvalidInput

BASE = Candidate(path="/art/a.jpg", width=800, height=600, format="JPEG", size=100_000,
                 mtime_ns=2_000, n_tags=0)


OLD = ("resolution", "lossless", "size", "tags", "older")  # the mechanics, by --prefer


def keep(*candidates: Candidate, preference: tuple[str, ...] = OLD):
    chosen, reason = choose_keeper(list(candidates), preference)
    # The same input in any order keeps the same file.
    for order in itertools.permutations(candidates):
        assert choose_keeper(list(order), preference) == (chosen, reason)
    return chosen.path, reason


def test_default_order_is_original_lossless_tags_older() -> None:
    # No file size: blur, captions and borders all make a PNG larger.
    assert DEFAULT_PREFERENCE == ("original", "lossless", "tags", "older")


def test_original_names_what_set_the_others_apart() -> None:
    orig = replace(BASE, path="/art/z.png", original=2.0)
    blur = replace(BASE, path="/art/a.png", original=-1.0, defect="blurred", size=900_000)
    border = replace(BASE, path="/art/b.png", original=-1.0, defect="16 px border")
    assert keep(orig, blur, border, preference=DEFAULT_PREFERENCE) == (
        "/art/z.png", "the others: blurred; 16 px border")
    twin = replace(orig, path="/art/y.png", n_tags=2)
    assert keep(orig, blur, twin, preference=DEFAULT_PREFERENCE) == (
        "/art/y.png", "the others: blurred; then more tags (2 vs 0)")
    same = replace(orig, path="/art/x.png")
    assert keep(orig, same, blur, preference=DEFAULT_PREFERENCE) == (
        "/art/x.png",
        "the others: blurred; the rest identical by every criterion; kept the first by path")


def test_higher_resolution_wins_over_everything_else() -> None:
    big = replace(BASE, path="/art/big.jpg", width=1600, height=1200, size=90_000)
    small = replace(BASE, path="/art/small.png", format="PNG", size=900_000, n_tags=9,
                    mtime_ns=1)
    assert keep(big, small) == ("/art/big.jpg", "higher resolution (1600×1200 vs 800×600)")


def test_then_lossless() -> None:
    png = replace(BASE, path="/art/b.png", format="PNG", size=50_000)
    assert keep(BASE, png) == ("/art/b.png", "lossless PNG (other copy is JPEG)")


def test_then_larger_file() -> None:
    larger = replace(BASE, path="/art/z.jpg", size=300_000)
    assert keep(BASE, larger) == ("/art/z.jpg", "larger file (293.0 KB vs 97.7 KB)")


def test_then_tags() -> None:
    tagged = replace(BASE, path="/art/z.jpg", n_tags=3)
    assert keep(BASE, tagged) == ("/art/z.jpg", "more tags (3 vs 0)")


def test_then_older() -> None:
    older = replace(BASE, path="/art/z.jpg", mtime_ns=1_000)
    assert keep(BASE, older) == ("/art/z.jpg", "older file")


def test_identical_candidates_keep_the_first_path() -> None:
    twin = replace(BASE, path="/art/0.jpg")
    assert keep(BASE, twin) == ("/art/0.jpg",
                                "identical by every criterion; kept the first by path")
    assert choose_keeper([BASE]) == (BASE, "only copy")


def test_prefer_changes_the_order() -> None:
    big = replace(BASE, path="/art/big.jpg", width=1600, height=1200, size=90_000)
    heavy = replace(BASE, path="/ref/heavy.png", format="PNG", size=900_000, mtime_ns=9_000)
    assert keep(big, heavy)[0] == "/art/big.jpg"
    assert keep(big, heavy, preference=("size", "resolution"))[0] == "/ref/heavy.png"
    assert keep(big, heavy, preference=("lossless",))[0] == "/ref/heavy.png"
    assert keep(big, heavy, preference=("newer",)) == ("/ref/heavy.png", "newer file")
    assert keep(big, heavy, preference=("in:/ref", "resolution")) == (
        "/ref/heavy.png", "in the reference folder /ref")
    assert keep(big, heavy, preference=("shorter-path",))[0] == "/art/big.jpg"


def test_unknown_criterion_names_the_choices() -> None:
    with pytest.raises(InvalidInput, match=r"unknown keeper criterion 'biggest'.*resolution"):
        validate(("resolution", "biggest"))
    validate(("in:/somewhere", "tags", "newer"))


def test_a_border_adds_pixels_but_not_picture() -> None:
    original = replace(BASE, path="/art/original.jpg", width=800, height=600)
    # 900x700 with a 50 px frame: more pixels, the same 800x600 of picture inside.
    framed = replace(BASE, path="/art/framed.jpg", width=900, height=700,
                     content=800 * 600 / (900 * 700), size=90_000)
    path, reason = keep(original, framed)
    assert path == "/art/original.jpg"
    assert reason.startswith("larger file")


def test_a_few_percent_more_pixels_do_not_beat_a_lossless_copy() -> None:
    jpeg = replace(BASE, path="/art/a.jpg", width=820, height=600)
    png = replace(BASE, path="/art/a.png", width=800, height=600, format="PNG")
    assert keep(jpeg, png) == ("/art/a.png", "lossless PNG (other copy is JPEG)")
    bigger = replace(jpeg, width=1000)
    path, reason = keep(bigger, png)
    assert path == "/art/a.jpg" and reason.startswith("higher resolution (1000×600")
