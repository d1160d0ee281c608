"""Getting tag rows by name: the one place tag names are normalised and rows created."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


def normalise(name: str) -> str:
    """Booru form: trimmed, lower case, inner spaces as underscores."""
    return "_".join(name.strip().lower().split())


def tag_ids(
    conn: sqlite3.Connection, names: Iterable[str], category: str | None = None
) -> dict[str, int]:
    """Ids of the tags named `names` (already normalised), creating missing rows.

    New rows get `category` (default 'general'); existing rows keep theirs unless a
    category is given and theirs is still the default.
    """
    wanted = list(dict.fromkeys(names))
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT id, name FROM tags WHERE name IN ({marks})", chunk):
            out[row[1]] = row[0]
    missing = [n for n in wanted if n not in out]
    for name in missing:
        cur = conn.execute(
            "INSERT INTO tags (name, category) VALUES (?, ?)", (name, category or "general")
        )
        out[name] = int(cur.lastrowid)
    if category and category != "general":
        conn.executemany(
            "UPDATE tags SET category = ? WHERE id = ? AND category = 'general'",
            ((category, out[n]) for n in wanted if n not in missing),
        )
    return out
