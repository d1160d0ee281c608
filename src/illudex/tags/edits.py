"""Batch tag edits on sets of images, each one undoable (`undo_tag_edit`).

These change the catalog only. Writing the result back to sidecar `.txt` files is a file
write the journal does; `tags_for_sidecar` gives the tag list to write for each image.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from illudex.catalog import imagetags, tagedits, vocabrows
from illudex.catalog.transaction import transaction
from illudex.tags.history import (
    EditRecorder,
    TagEdit,
    TagEditError,
    finish_edit,
    list_tag_edits,
    start_edit,
    undo_tag_edit,
)
from illudex.tags.names import (
    VocabularyError,
    ensure_tag,
    normalize_tag,
    require_tag,
    resolve_ids,
)

__all__ = [
    "TagEdit",
    "TagEditError",
    "add_tags",
    "apply_implications",
    "list_tag_edits",
    "merge_tags",
    "remove_tags",
    "replace_tag",
    "tags_for_sidecar",
    "undo_tag_edit",
]

# Order of tags in a written caption: who/what first, then the picture's content.
CAPTION_CATEGORY_ORDER = ("character", "copyright", "artist", "general", "meta", "rating")


def _image_ids(image_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in image_ids})
    if not ids:
        raise TagEditError("no images given: select at least one image to edit")
    return ids


def _names(names: str | Iterable[str]) -> list[str]:
    items = [names] if isinstance(names, str) else list(names)
    if not items:
        raise TagEditError("no tags given: name at least one tag")
    return [normalize_tag(n) for n in items]


def add_tags(
    conn: sqlite3.Connection,
    image_ids: Iterable[int],
    names: str | Iterable[str],
    *,
    source: str = "user",
) -> int | None:
    """Tag these images with these tags (aliases resolved, unknown tags created).

    Returns the edit id, or None when every image already had every tag from `source`.
    """
    tag_names, images = _names(names), _image_ids(image_ids)
    with transaction(conn, immediate=True):
        rec = start_edit(conn, "add", f"add {', '.join(tag_names)}")
        tag_ids = [ensure_tag(conn, n, recorder=rec) for n in tag_names]
        rec.add_pairs(images, tag_ids, source)
        return _finish(rec, f"on {len(images)} images")


def remove_tags(
    conn: sqlite3.Connection,
    image_ids: Iterable[int],
    names: str | Iterable[str],
    *,
    sources: Sequence[str] | None = None,
) -> int | None:
    """Take these tags off these images (from every source, or only `sources`).

    Returns the edit id, or None when none of the images had them.
    """
    tag_names, images = _names(names), _image_ids(image_ids)
    with transaction(conn, immediate=True):
        tag_ids = [i for n in tag_names for i in resolve_ids(conn, n)]
        rec = start_edit(conn, "remove", f"remove {', '.join(tag_names)}")
        rec.remove_pairs(images, tag_ids, sources)
        return _finish(rec, f"on {len(images)} images")


def replace_tag(
    conn: sqlite3.Connection, image_ids: Iterable[int], old: str, new: str
) -> int | None:
    """On these images, tag `old` becomes `new` (same source and score). Returns the edit id."""
    images = _image_ids(image_ids)
    with transaction(conn, immediate=True):
        old_id = require_tag(conn, old)
        rec = start_edit(conn, "replace", f"replace {normalize_tag(old)} -> {normalize_tag(new)}")
        new_id = ensure_tag(conn, new, recorder=rec)
        if new_id == old_id:
            raise TagEditError(f"{old!r} and {new!r} are the same tag: nothing to replace")
        rec.move_tag(old_id, new_id, images)
        return _finish(rec, f"on {len(images)} images")


def merge_tags(conn: sqlite3.Connection, keep: str, gone: str) -> int:
    """Merge tag `gone` into `keep` everywhere: `gone` becomes an alias of `keep`.

    Its images, aliases, implications and translations move to `keep`; the tag `gone` is
    deleted. Returns the edit id (undo restores `gone` with everything it had).
    """
    with transaction(conn, immediate=True):
        keep_id, gone_id = require_tag(conn, keep), require_tag(conn, gone)
        if keep_id == gone_id:
            raise VocabularyError(f"{keep!r} and {gone!r} are already the same tag")
        gone_name, _ = vocabrows.name_and_category(conn, gone_id)
        keep_name, _ = vocabrows.name_and_category(conn, keep_id)
        rec = start_edit(conn, "merge", f"merge {gone_name} into {keep_name}")
        rec.move_tag(gone_id, keep_id)
        rec.move_vocabulary(gone_id, keep_id)
        rec.drop_tag(gone_id)
        rec.insert_vocab("tag_aliases", {"alias": gone_name, "tag_id": keep_id})
        return rec.id


def apply_implications(
    conn: sqlite3.Connection, image_ids: Iterable[int] | None = None
) -> int | None:
    """Write implied tags onto images (all, or these) with source 'implied'.

    An image tagged `zero_suit_samus` gets `samus_aran` and `metroid` unless it has them
    from some source already. Returns the edit id, or None when nothing was missing.
    """
    images = None if image_ids is None else _image_ids(image_ids)
    with transaction(conn, immediate=True):
        rec = start_edit(conn, "implied", "apply implications")
        rec.add_implied(images)
        return _finish(rec, "")


def tags_for_sidecar(
    conn: sqlite3.Connection,
    image_ids: Iterable[int],
    *,
    include_rating: bool = False,
    min_model_score: float | None = None,
) -> dict[int, list[str]]:
    """For each image, the canonical tag names to write to its `.txt` sidecar.

    User, sidecar and model tags (not implied ones); model tags below `min_model_score`
    are left out. Ordered character, copyright, artist, general, meta; within a category
    people's tags first, then by model confidence, then by name. Images with no tags
    map to [].
    """
    ids = sorted({int(i) for i in image_ids})
    out: dict[int, list[str]] = {i: [] for i in ids}
    for image_id, name in imagetags.caption_names(
        conn, ids, CAPTION_CATEGORY_ORDER, include_rating=include_rating,
        min_model_score=min_model_score,
    ):
        out[image_id].append(name)
    return out


def _finish(rec: EditRecorder, suffix: str) -> int | None:
    if suffix:
        tagedits.append_summary(rec.conn, rec.id, suffix)
    return finish_edit(rec)
