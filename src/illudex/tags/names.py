"""Tag names: booru form, categories, and which canonical tag a name means.

The ground floor of the vocabulary, shared by `vocabulary` (aliases, implications,
translations, whole-tag edits) and `edits` (batch edits on images), so neither has to
import the other for these: a name resolves through the tag itself, an alias or a
translation to canonical tag ids; `ensure_tag` creates an unknown one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from illudex.catalog import vocabrows
from illudex.catalog.tagedits import EditRecorder
from illudex.catalog.tagrows import normalise
from illudex.tags.history import TagEditError

CATEGORIES = ("general", "character", "copyright", "artist", "meta", "rating")
# Danbooru's numeric categories, as found in its CSV exports.
DANBOORU_CATEGORIES = {0: "general", 1: "artist", 3: "copyright", 4: "character", 5: "meta"}
SOURCE_KINDS = ("user", "sidecar", "model", "implied")


class VocabularyError(TagEditError):
    """A vocabulary change that cannot be made (bad name, cycle, unknown tag ...)."""


@dataclass(frozen=True)
class Tag:
    """A canonical tag and the number of images that carry it (from any source)."""

    id: int
    name: str
    category: str
    count: int


def normalize_tag(name: str) -> str:
    """Booru form of a name: trimmed, lower case, runs of spaces as one underscore.

    Raises VocabularyError for a name that is empty once trimmed.
    """
    out = normalise(name)
    if not out:
        raise VocabularyError(f"empty tag name {name!r}: give at least one character")
    return out


def check_category(category: str) -> str:
    """A valid category name, or VocabularyError listing the valid ones."""
    value = category.strip().lower()
    if value.isdigit() and int(value) in DANBOORU_CATEGORIES:
        return DANBOORU_CATEGORIES[int(value)]
    if value not in CATEGORIES:
        raise VocabularyError(f"unknown tag category {category!r}: use one of {CATEGORIES}")
    return value


def tag_from_row(row: Sequence) -> Tag:
    return Tag(int(row[0]), row[1], row[2], int(row[3]))


def tags_by_id(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, Tag]:
    """The tags with these ids (missing ids are left out)."""
    return {row[0]: tag_from_row(row) for row in vocabrows.tags_by_ids(conn, ids)}


def resolve_ids(conn: sqlite3.Connection, name: str) -> list[int]:
    """Canonical tag ids a name means: the tag itself, an alias's tag, or translations' tags.

    Usually one id; a translation shared by several tags gives all of them (most used
    first); an unknown name gives [].
    """
    key = normalise(name)
    if not key:
        return []
    found = vocabrows.tag_named(conn, key)
    if found is None:
        found = vocabrows.alias_target(conn, key)
    return [found] if found is not None else vocabrows.translation_targets(conn, key)


def resolve(conn: sqlite3.Connection, name: str) -> Tag | None:
    """The canonical tag a name (tag, alias or translation) means, or None."""
    ids = resolve_ids(conn, name)
    return tags_by_id(conn, ids[:1]).get(ids[0]) if ids else None


def ensure_tag(
    conn: sqlite3.Connection,
    name: str,
    category: str | None = None,
    *,
    recorder: EditRecorder | None = None,
) -> int:
    """Id of the canonical tag `name` means (through aliases), creating it if unknown.

    A new tag gets `category` (default general); an existing one keeps its own.
    """
    ids = resolve_ids(conn, name)
    if ids:
        return ids[0]
    tag_name, tag_category = normalize_tag(name), check_category(category or "general")
    tag_id = vocabrows.insert_tag(conn, tag_name, tag_category)
    if recorder is not None:
        recorder.vocab("+", "tags", {"id": tag_id, "name": tag_name, "category": tag_category})
    return tag_id


def require_tag(conn: sqlite3.Connection, name: str) -> int:
    """Id of the tag `name` means, or VocabularyError naming it."""
    ids = resolve_ids(conn, name)
    if not ids:
        raise VocabularyError(f"no tag named {name!r}: check the spelling with tags.lookup.find")
    return ids[0]
