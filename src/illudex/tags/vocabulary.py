"""The tag vocabulary: tags with categories and counts, aliases, implications, translations.

Names are kept in booru form (lower case, spaces as underscores, trimmed). An alias is
another name for one canonical tag; aliases always point at the final tag (adding an
alias of an alias resolves it, merging a tag repoints its aliases), so lookups take one
step, and a chain that would loop is refused. An implication `a -> b` says every image
tagged `a` is also `b` (`zero_suit_samus -> samus_aran -> metroid`); search applies them
at query time, `illudex.tags.edits.apply_implications` writes them onto images.
Translations are names in other languages (`艦これ`, `舰队收藏`), searchable like aliases.
What a name means (booru form, categories, resolving through aliases) is `tags.names`;
a tag that becomes an alias of another is merged into it (`tags.edits.merge_tags`), and
renaming is such a merge into a fresh tag.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from illudex.catalog import tagedits, tagrows, vocabrows
from illudex.catalog.tagrows import normalise
from illudex.catalog.transaction import transaction
from illudex.tags.edits import merge_tags
from illudex.tags.history import start_edit
from illudex.tags.names import (
    CATEGORIES,
    Tag,
    VocabularyError,
    check_category,
    ensure_tag,
    normalize_tag,
    require_tag,
    resolve,
    resolve_ids,
    tag_from_row,
    tags_by_id,
)

# The names layer is part of the vocabulary's face: callers may take it from here.
__all__ = [
    "CATEGORIES",
    "Impact",
    "Tag",
    "TagDetail",
    "VocabularyError",
    "add_alias",
    "add_implication",
    "add_translation",
    "alias_impact",
    "check_category",
    "delete_tag",
    "ensure_tag",
    "get_tag",
    "implication_impact",
    "implied_closure",
    "implying_closure",
    "list_aliases",
    "list_implications",
    "list_tags",
    "list_translations",
    "normalize_tag",
    "remove_alias",
    "remove_implication",
    "remove_translation",
    "rename_tag",
    "require_tag",
    "resolve",
    "resolve_ids",
    "set_category",
    "tagged_images",
    "tags_by_id",
]


@dataclass(frozen=True)
class TagDetail:
    """Everything the vocabulary knows about one tag."""

    tag: Tag
    aliases: tuple[str, ...] = ()
    implies: tuple[str, ...] = ()  # direct implications: tag -> these
    implied_by: tuple[str, ...] = ()  # direct: these -> tag
    translations: tuple[tuple[str, str], ...] = ()  # (lang, name)
    sources: dict[str, int] = field(default_factory=dict)  # 'user'|'sidecar'|'model'|... -> n


# -- reading -------------------------------------------------------------------------


def list_tags(
    conn: sqlite3.Connection,
    *,
    category: str | None = None,
    min_count: int = 0,
    contains: str | None = None,
    order: str = "count",
    limit: int | None = None,
    offset: int = 0,
) -> list[Tag]:
    """Tags, most used first (order='count') or by name (order='name').

    `contains` keeps the tags whose name holds that text anywhere (booru form).
    """
    wanted = None if category is None else check_category(category)
    if order not in ("count", "name"):
        raise VocabularyError(f"unknown tag order {order!r}: use 'count' or 'name'")
    rows = vocabrows.list_tags(conn, min_count=min_count, contains=normalise(contains or ""),
                               category=wanted, by_name=order == "name", limit=limit,
                               offset=offset)
    return [tag_from_row(r) for r in rows]


def get_tag(conn: sqlite3.Connection, name_or_id: str | int) -> TagDetail | None:
    """Full detail of a tag given by id, name, alias or translation; None if unknown."""
    if isinstance(name_or_id, int):
        tag = tags_by_id(conn, [name_or_id]).get(name_or_id)
    else:
        tag = resolve(conn, name_or_id)
    if tag is None:
        return None
    return TagDetail(
        tag=tag,
        aliases=tuple(vocabrows.aliases_of(conn, tag.id)),
        implies=tuple(vocabrows.implies(conn, tag.id)),
        implied_by=tuple(vocabrows.implied_by(conn, tag.id)),
        translations=tuple(vocabrows.translations_of(conn, tag.id)),
        sources=vocabrows.source_counts(conn, tag.id),
    )


# -- tags ----------------------------------------------------------------------------


def set_category(conn: sqlite3.Connection, name: str, category: str) -> Tag:
    """Set a tag's category; returns the updated tag."""
    tag_id = require_tag(conn, name)
    tagrows.set_category(conn, tag_id, check_category(category))
    return tags_by_id(conn, [tag_id])[tag_id]


# -- aliases -------------------------------------------------------------------------


def add_alias(conn: sqlite3.Connection, alias: str, target: str) -> int | None:
    """Make `alias` another name for the tag `target` means (created if unknown).

    If `alias` is itself a tag, that tag is merged into the target (its images retagged,
    its aliases, implications and translations moved), as a booru alias does; the merge is
    an undoable tag edit whose id is returned. Otherwise returns None.
    Raises VocabularyError for a loop (`a -> b` when `b` already means `a`).
    """
    name = normalize_tag(alias)
    with transaction(conn, immediate=True):
        target_ids = resolve_ids(conn, target)
        target_id = target_ids[0] if target_ids else ensure_tag(conn, target)
        target_name, _ = vocabrows.name_and_category(conn, target_id)
        if name == target_name:
            raise VocabularyError(
                f"alias loop: {target!r} already means {name!r}; "
                f"an alias {name!r} -> {target!r} would point back at itself"
            )
        if vocabrows.tag_named(conn, name) is not None:
            return merge_tags(conn, target_name, name)
        vocabrows.set_alias(conn, name, target_id)
    return None


def remove_alias(conn: sqlite3.Connection, alias: str) -> bool:
    """Forget an alias; True if there was one."""
    return vocabrows.delete_alias(conn, normalise(alias))


def list_aliases(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every (alias, canonical tag name), sorted by alias."""
    return vocabrows.alias_pairs(conn)


# -- implications ----------------------------------------------------------------------


def implied_closure(conn: sqlite3.Connection, tag_ids: Iterable[int]) -> set[int]:
    """These tags and every tag they imply, transitively."""
    return vocabrows.closure(conn, tag_ids, implied=True)


def implying_closure(conn: sqlite3.Connection, tag_ids: Iterable[int]) -> set[int]:
    """These tags and every tag that implies one of them, transitively."""
    return vocabrows.closure(conn, tag_ids, implied=False)


def add_implication(conn: sqlite3.Connection, name: str, implied: str) -> None:
    """Record that every image tagged `name` is also `implied` (tags created if unknown).

    Raises VocabularyError when `implied` already implies `name` (a loop) or they are one tag.
    """
    with transaction(conn, immediate=True):
        tag_id, implied_id = ensure_tag(conn, name), ensure_tag(conn, implied)
        if tag_id == implied_id:
            raise VocabularyError(f"{name!r} and {implied!r} are the same tag: nothing to imply")
        if tag_id in implied_closure(conn, [implied_id]):
            raise VocabularyError(
                f"implication loop: {implied!r} already implies {name!r}, so "
                f"{name!r} -> {implied!r} would make them imply each other"
            )
        vocabrows.insert_implication(conn, tag_id, implied_id)


def remove_implication(conn: sqlite3.Connection, name: str, implied: str) -> bool:
    """Forget `name -> implied`; True if it was there."""
    ids, implied_ids = resolve_ids(conn, name), resolve_ids(conn, implied)
    if not ids or not implied_ids:
        return False
    return vocabrows.delete_implication(conn, ids[0], implied_ids[0])


def list_implications(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every direct (tag, implied tag) by name, sorted."""
    return vocabrows.implication_pairs(conn)


# -- translations ----------------------------------------------------------------------


def add_translation(conn: sqlite3.Connection, name: str, lang: str, text: str) -> None:
    """Give a tag a name in another language (`lang`: 'ja', 'zh', 'en' ...)."""
    lang_code = lang.strip().lower()
    if not lang_code:
        raise VocabularyError("empty language code: give one such as 'ja' or 'zh'")
    with transaction(conn, immediate=True):
        tag_id = ensure_tag(conn, name)
        vocabrows.insert_translation(conn, tag_id, lang_code, normalize_tag(text))


def remove_translation(conn: sqlite3.Connection, name: str, lang: str, text: str) -> bool:
    """Forget one translation; True if it was there."""
    ids = resolve_ids(conn, name)
    if not ids:
        return False
    return vocabrows.delete_translation(conn, ids[0], lang.strip().lower(), normalise(text))


def list_translations(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every (tag name, lang, translated name), sorted."""
    return vocabrows.translation_triples(conn)


# -- what a change would do, and whole-tag edits -------------------------------------------


@dataclass(frozen=True)
class Impact:
    """What adding an alias or implication would change, so people can be asked first.

    `pictures`: pictures whose tags (or what they match in search) would change;
    `replaces`: the entry it would overwrite (an alias that means another tag today).
    """

    pictures: int
    replaces: str | None = None


def alias_impact(conn: sqlite3.Connection, alias: str, target: str) -> Impact:
    """What `add_alias(alias, target)` would do. Raises VocabularyError for an unknown target."""
    name, target_id = normalize_tag(alias), require_tag(conn, target)
    gone = vocabrows.tag_named(conn, name)
    if gone is not None and gone != target_id:  # a tag of its own: merged
        return Impact(pictures=vocabrows.pictures_with(conn, gone))
    old = vocabrows.alias_elsewhere(conn, name, target_id)
    return Impact(pictures=0, replaces=f"{name} → {old}" if old else None)


def implication_impact(conn: sqlite3.Connection, name: str, implied: str) -> Impact:
    """Pictures that `name -> implied` would newly make match `implied`.

    Both tags must exist (VocabularyError otherwise): an implication of an unknown tag
    is almost always a typo.
    """
    tag_id, implied_id = require_tag(conn, name), require_tag(conn, implied)
    sources = sorted(implying_closure(conn, [tag_id]))
    have = sorted(implying_closure(conn, [implied_id]))  # what matches `implied` today
    return Impact(pictures=vocabrows.count_newly_matching(conn, sources, have))


def tagged_images(conn: sqlite3.Connection, name: str) -> list[int]:
    """Ids of the images carrying the tag `name` means; [] for an unknown name."""
    ids = resolve_ids(conn, name)
    if not ids:
        return []
    return vocabrows.images_with(conn, ids[0])


def rename_tag(conn: sqlite3.Connection, old: str, new: str) -> int:
    """Give a tag a new name; the old name stays as an alias. Returns the undoable edit id.

    Raises VocabularyError when the new name is already a tag (merge them instead).
    """
    new_name = normalize_tag(new)
    with transaction(conn, immediate=True):
        tag_id = require_tag(conn, old)
        old_name, category = vocabrows.name_and_category(conn, tag_id)
        if resolve_ids(conn, new_name) and new_name != old_name:
            taken = tags_by_id(conn, resolve_ids(conn, new_name)[:1])
            raise VocabularyError(
                f"{new_name!r} is already a name of the tag "
                f"{next(iter(taken.values())).name!r}: merge the two tags instead")
        if new_name == old_name:
            raise VocabularyError(f"{old_name!r} already has that name")
        vocabrows.delete_alias(conn, new_name)
        row = {"id": vocabrows.insert_tag(conn, new_name, category), "name": new_name,
               "category": category}
        edit_id = merge_tags(conn, new_name, old_name)
        # Recorded on the same edit (first: it came first) so undo also drops the new tag.
        tagedits.record_first(conn, edit_id, "tags", row)
        tagedits.relabel(conn, edit_id, "rename", f"rename {old_name} to {new_name}")
    return edit_id


def delete_tag(conn: sqlite3.Connection, name: str) -> int:
    """Take a tag off every picture and forget it with its aliases, implications and
    translations. Returns the undoable edit id."""
    with transaction(conn, immediate=True):
        tag_id = require_tag(conn, name)
        tag_name, _ = vocabrows.name_and_category(conn, tag_id)
        rec = start_edit(conn, "delete", f"delete tag {tag_name}")
        rec.forget_tag(tag_id)
        return rec.id
