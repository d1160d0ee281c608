"""Caption text for training sets (booru convention) and merging with an existing caption.

Pure functions: computing the text is here; writing the file (undoably) is the journal's
job. Order of a caption: trigger words, then character tags (if asked), then the rest in
the order given (a tagger gives them highest score first). Excluded tags and duplicates
are dropped, compared in canonical form, so `long hair`, `long_hair` and `Long_Hair` match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from illudex.errors import InvalidInput
from illudex.tags.sidecar import normalise_tag, tag_text

MergePolicy = Literal["replace", "merge", "skip"]
POLICIES: tuple[str, ...] = ("replace", "merge", "skip")
SEPARATOR = ", "


@dataclass(frozen=True)
class CaptionOptions:
    spaces: bool = True  # "long hair" rather than "long_hair" (kaomoji keep their "_")
    escape_parens: bool = True  # "\(" as prompt syntax needs
    character_first: bool = True
    trigger_words: tuple[str, ...] = ()  # written first, verbatim
    exclude: tuple[str, ...] = ()  # tags never written (any spelling)
    rating: bool = False  # add the top rating (e.g. "sensitive") after the trigger words
    max_tags: int | None = None  # cap on tags after the trigger words


def format_caption(
    general: Iterable[str],
    character: Iterable[str] = (),
    options: CaptionOptions | None = None,
    rating: str | None = None,
) -> str:
    """Tag names (mappings work: their keys in order) → one caption line."""
    options = options or CaptionOptions()
    excluded = {normalise_tag(t) for t in options.exclude}
    seen = set(excluded)
    head = [w.strip() for w in options.trigger_words if w.strip()]
    seen.update(normalise_tag(w) for w in head)
    ordered = [*character, *general] if options.character_first else [*general, *character]
    if options.rating and rating:
        ordered.insert(0, rating)
    body: list[str] = []
    for name in ordered:
        key = normalise_tag(name)
        if not key or key in seen:
            continue
        seen.add(key)
        body.append(tag_text(key, spaces=options.spaces, escape_parens=options.escape_parens))
    if options.max_tags is not None:
        body = body[: options.max_tags]
    return SEPARATOR.join([*head, *body])


def split_caption(text: str) -> list[str]:
    """A caption's tokens as written (trimmed, empty ones dropped)."""
    tokens = (t.strip() for t in text.replace("\n", ",").split(","))
    return [t for t in tokens if t]


def merge_caption(
    existing: str | None,
    new: str,
    policy: MergePolicy = "skip",
    *,
    first: Sequence[str] = (),
) -> str | None:
    """The text to write given a file's current caption (None: no file), or None to leave it.

    replace: `new`; skip: leave any existing file alone; merge: the existing tokens as the
    user wrote them, then the new ones it lacks (canonical comparison). `first` (trigger
    words) are moved to the front of a merged caption. Never returns an unchanged text.
    """
    if policy not in POLICIES:
        raise InvalidInput(f"unknown caption policy {policy!r}: use one of {', '.join(POLICIES)}")
    if existing is None:
        return new
    if policy == "skip":
        return None
    if policy == "replace":
        return None if existing.strip() == new.strip() else new
    merged = _merge_tokens(split_caption(existing), split_caption(new), first)
    text = SEPARATOR.join(merged)
    return None if text == existing.strip() else text


def _merge_tokens(old: list[str], new: list[str], first: Sequence[str]) -> list[str]:
    lead = [w.strip() for w in first if w.strip()]
    lead_keys = {normalise_tag(w) for w in lead}
    out = list(lead)
    seen = set(lead_keys)
    for token in [*old, *new]:
        key = normalise_tag(token)
        if key not in seen:
            seen.add(key)
            out.append(token)
    return out
