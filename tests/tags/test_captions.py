"""Caption text for training sets, and the replace / merge / skip policies."""

from __future__ import annotations

import pytest

from illudex.errors import InvalidInput
from illudex.tags.captions import CaptionOptions, format_caption, merge_caption

GENERAL = {"1girl": 0.99, "long_hair": 0.9, "^_^": 0.5, "hat_(object)": 0.4}
CHARACTER = {"hatsune_miku": 0.95}


def test_default_booru_caption() -> None:
    assert format_caption(GENERAL, CHARACTER) == \
        "hatsune miku, 1girl, long hair, ^_^, hat \\(object\\)"


def test_underscores_and_unescaped_parens() -> None:
    options = CaptionOptions(spaces=False, escape_parens=False, character_first=False)
    assert format_caption(GENERAL, CHARACTER, options) == \
        "1girl, long_hair, ^_^, hat_(object), hatsune_miku"


def test_trigger_words_first_exclusions_and_duplicates() -> None:
    options = CaptionOptions(trigger_words=("mystyle", " "), exclude=("Long Hair", "1girl"))
    text = format_caption(["1girl", "long_hair", "mystyle", "solo", "solo"], ["hatsune_miku"],
                          options)
    assert text == "mystyle, hatsune miku, solo"


def test_rating_and_tag_cap() -> None:
    options = CaptionOptions(rating=True, max_tags=2, trigger_words=("oc",))
    text = format_caption(GENERAL, CHARACTER, options, rating="sensitive")
    assert text == "oc, sensitive, hatsune miku"  # trigger words do not count in the cap
    assert "sensitive" not in format_caption(GENERAL, CHARACTER, rating="sensitive")


def test_policies_with_no_existing_file() -> None:
    for policy in ("replace", "merge", "skip"):
        assert merge_caption(None, "a, b", policy) == "a, b"


def test_skip_and_replace() -> None:
    assert merge_caption("mine", "a, b", "skip") is None
    assert merge_caption("mine", "a, b", "replace") == "a, b"
    assert merge_caption("a, b\n", "a, b", "replace") is None  # nothing would change


def test_merge_keeps_the_users_text_and_adds_what_is_new() -> None:
    existing = "my oc, Long Hair, smile"
    new = "long hair, blue eyes, smile, hat \\(object\\)"
    assert merge_caption(existing, new, "merge") == \
        "my oc, Long Hair, smile, blue eyes, hat \\(object\\)"
    assert merge_caption("long hair, smile", "smile", "merge") is None


def test_merge_moves_trigger_words_to_the_front() -> None:
    merged = merge_caption("smile, mystyle", "mystyle, solo", "merge", first=["mystyle"])
    assert merged == "mystyle, smile, solo"


def test_unknown_policy() -> None:
    with pytest.raises(InvalidInput, match="replace, merge, skip"):
        merge_caption("a", "b", "append")  # type: ignore[arg-type]
