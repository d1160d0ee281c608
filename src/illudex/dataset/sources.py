"""Where a dataset's pictures come from: folders, library queries, chosen ids, a booru.

Every source ends as catalogued pictures (folders are scanned first, booru downloads are
scanned into the library), so the steps can use what the catalog knows: duplicates,
tags by category, the content digest that keys the cache.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Item
from illudex.dataset.spec import SourceSpec
from illudex.errors import InvalidInput
from illudex.progress import ProgressCallback

if TYPE_CHECKING:
    from illudex.library import Library

CATEGORY_ORDER = ("character", "copyright", "artist", "general", "meta")


def load_items(lib: Library, source: SourceSpec, progress: ProgressCallback | None = None,
               errors: list[dict[str, str]] | None = None) -> list[Item]:
    """The source's pictures as items, in source order, with their catalog tags."""
    meta: dict[str, dict[str, Any]] = {}
    if source.booru is not None:
        ids, meta = _booru_ids(lib, source.booru, errors)
    elif source.paths:
        lib.scan(source.paths, progress)
        ids = lib.image_ids(source.paths)
    elif source.query is not None:
        ids = _query_ids(lib, source.query)
    else:
        ids = list(dict.fromkeys(source.ids))
    rows = lib.images(ids)
    missing = [i for i in ids if i not in rows or rows[i].folder_id is None]
    if source.ids and missing:
        raise DatasetError(f"no picture with id(s) {', '.join(map(str, missing[:5]))} in "
                           "the library's folders")
    return [_item(lib, rows[i], meta.get(rows[i].path, {})) for i in ids if i not in missing]


def _query_ids(lib: Library, query: str) -> list[int]:
    try:
        result = lib.search(query, limit=None)
    except InvalidInput as e:  # a query that does not parse or cannot run
        raise DatasetError(f"source query {query!r}: {e}") from None
    return [image_id for image_id, _path, _score in result.results]


def _booru_ids(lib: Library, table: dict[str, Any], errors: list[dict[str, str]] | None
               ) -> tuple[list[int], dict[str, dict[str, Any]]]:
    try:
        from illudex.dataset.booru import BooruSpec, BooruSpecError, fetch_booru
    except ImportError as e:
        raise DatasetError(f"booru sources are not available yet: {e}") from None
    try:
        spec = BooruSpec.from_table(table)
    except BooruSpecError as e:
        raise DatasetError(str(e)) from None
    result = fetch_booru(spec, lib)
    if errors is not None:
        errors.extend({"path": e.get("url", ""), "error": e.get("error", "")}
                      for e in result.errors)
    ids = []
    for path, _ in result.images:
        row = lib.image_at(path)
        ids.append(row.id)
    return ids, dict(result.images)


def _item(lib: Library, row: Any, meta: dict[str, Any]) -> Item:
    tags, categories, rating = _tags(lib, row.id)
    return Item(source=row.path, digest=row.digest, key=row.digest, file=row.path,
                image_id=row.id, name=os.path.splitext(os.path.basename(row.path))[0],
                width=row.width, height=row.height, tags=tags, categories=categories,
                rating=rating, meta=meta)


def _tags(lib: Library, image_id: int) -> tuple[list[str], dict[str, str], str | None]:
    """Caption order: characters, copyrights, artists, general, meta; best score first
    within a category; each name once whatever the number of sources that gave it."""
    rating: str | None = None
    found: dict[str, tuple[int, float]] = {}
    categories: dict[str, str] = {}
    for tag in lib.tags.of_image(image_id):
        if tag.category == "rating":
            rating = tag.name.removeprefix("rating:")
            continue
        rank = CATEGORY_ORDER.index(tag.category) if tag.category in CATEGORY_ORDER else 3
        score = -(tag.score if tag.score is not None else 1.0)
        found[tag.name] = min(found.get(tag.name, (rank, score)), (rank, score))
        categories[tag.name] = tag.category
    ordered = sorted(found, key=lambda n: (*found[n], n))
    return ordered, categories, rating
