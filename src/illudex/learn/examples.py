"""Examples already in the catalog: people's tags say yes, removed learned tags say no.

So correcting a learned tag like any other tag (adding it by hand, or removing it) makes
the correction an example the next time the tag is taught.
"""

from __future__ import annotations

import sqlite3

from illudex.catalog import imagetags, tagedits
from illudex.tags.vocabulary import resolve_ids

PEOPLES_SOURCES = ("user", "sidecar")


def learned_source(tag: str) -> str:
    """The image_tags source a taught tag is written with."""
    return f"learned:{tag}"


def catalog_examples(conn: sqlite3.Connection, tag: str) -> tuple[set[int], set[int]]:
    """(yes, no) image ids: tagged `tag` by a person; had `learned:tag` removed by an edit
    still in effect (and not tagged by a person since)."""
    tag_ids = resolve_ids(conn, tag)
    if not tag_ids:
        return set(), set()
    yes = imagetags.images_with(conn, tag_ids[0], PEOPLES_SOURCES)
    removed = tagedits.removed_in_effect(conn, tag_ids[0], learned_source(tag))
    return yes, removed - yes
