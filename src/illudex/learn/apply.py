"""Writing a taught tag: source `learned:TAG` with its score, one undoable tag edit.

Re-applying replaces the previous learned rows of that tag in the same edit, so undo
brings back exactly what the earlier round had written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

from illudex.learn.examples import learned_source
from illudex.tags.history import finish_edit, start_edit, transaction
from illudex.tags.vocabulary import ensure_tag


def apply_learned(conn: sqlite3.Connection, tag: str, scored: Mapping[int, float]) -> int | None:
    """Tag these images with `tag` from `learned:tag` at these scores (older learned rows of
    the tag replaced). Returns the tag edit id, or None when nothing changed."""
    source = learned_source(tag)
    rows = json.dumps([[int(i), float(s)] for i, s in sorted(scored.items())])
    with transaction(conn):
        rec = start_edit(conn, "learned", f"learned {tag} on {len(scored)} images")
        tag_id = ensure_tag(conn, tag, recorder=rec)
        rec.remove_image_tags("tag_id = ? AND source = ?", [tag_id, source])
        rec.add_image_tags(
            "SELECT json_extract(j.value, '$[0]') AS image_id, ? AS tag_id, ? AS source, "
            "json_extract(j.value, '$[1]') AS score FROM json_each(?) j "
            "WHERE json_extract(j.value, '$[0]') IN (SELECT id FROM images)",
            [tag_id, source, rows],
        )
        return finish_edit(rec)
