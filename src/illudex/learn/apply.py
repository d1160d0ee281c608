"""Writing a taught tag: source `learned:TAG` with its score, one undoable tag edit.

Re-applying replaces the previous learned rows of that tag in the same edit, so undo
brings back exactly what the earlier round had written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from illudex.catalog.transaction import transaction
from illudex.learn.examples import learned_source
from illudex.tags.history import finish_edit, start_edit
from illudex.tags.vocabulary import ensure_tag


def apply_learned(conn: sqlite3.Connection, tag: str, scored: Mapping[int, float]) -> int | None:
    """Tag these images with `tag` from `learned:tag` at these scores (older learned rows of
    the tag replaced). Returns the tag edit id, or None when nothing changed."""
    source = learned_source(tag)
    with transaction(conn, immediate=True):
        rec = start_edit(conn, "learned", f"learned {tag} on {len(scored)} images")
        tag_id = ensure_tag(conn, tag, recorder=rec)
        rec.remove_source(tag_id, source)
        rec.add_scored(tag_id, source, scored)
        return finish_edit(rec)
