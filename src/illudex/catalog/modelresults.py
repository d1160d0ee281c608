"""What a model step found on a picture (detections, class scores), by content digest.

Rows are keyed by the picture's digest, the kind of result and the recipe (the model's
source and the step's settings): the same bytes anywhere in the library share them, and
a step with other thresholds neither reads nor overwrites another's. Search reads the
latest detection of a kind per picture (`faces:1`) and any classifier's best label
(`class:illustration`) and the latest quality score (`quality:>=0.7`, `sort:-quality`),
through the SQL fragments below.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from illudex.catalog.idlists import IN_LIST, as_param
from illudex.catalog.transaction import transaction

DETECTION_KINDS = ("face", "head", "person", "halfbody")
CLASS_KIND = "class"
# The aesthetic score: data {"quality": 0..1, "raw": 0..6, "label": best}, label the best.
QUALITY_KIND = "quality"


@dataclass(frozen=True)
class Result:
    """One picture's result for one recipe: `data` is what the step caches."""

    digest: str
    data: Any
    count: int | None = None  # detections: boxes found
    label: str | None = None  # classes: the best label


def load(conn: sqlite3.Connection, digests: Sequence[str], kind: str, recipe: str
         ) -> dict[str, Any]:
    """digest → stored data, for those of `digests` that have this kind and recipe."""
    rows = conn.execute(
        f"SELECT digest, data FROM model_results WHERE kind = ? AND recipe = ? "
        f"AND digest IN {IN_LIST}", (kind, recipe, as_param(dict.fromkeys(digests))))
    return {r[0]: json.loads(r[1]) for r in rows}


def store(conn: sqlite3.Connection, kind: str, recipe: str, model: str,
          results: Iterable[Result]) -> int:
    """Write (or replace) results in one transaction; how many rows were written."""
    now = time.time()
    rows = [(r.digest, kind, recipe, model, r.count, r.label, json.dumps(r.data), now)
            for r in results]
    if rows:
        with transaction(conn, immediate=True):
            conn.executemany(
                "INSERT OR REPLACE INTO model_results "
                "(digest, kind, recipe, model, count, label, data, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def for_digest(conn: sqlite3.Connection, digest: str) -> list[dict[str, Any]]:
    """Every stored result of one picture, newest first (for display)."""
    rows = conn.execute(
        "SELECT kind, model, count, label, data, at FROM model_results WHERE digest = ? "
        "ORDER BY at DESC", (digest,))
    return [{"kind": r[0], "model": r[1], "count": r[2], "label": r[3],
             "data": json.loads(r[4]), "at": r[5]} for r in rows]


def count_sql(kind: str) -> str:
    """SQL for the number of `kind` boxes on picture `i` by its latest detection (NULL
    when no detector of that kind has run on it)."""
    if kind not in DETECTION_KINDS:
        raise ValueError(f"not a detection kind: {kind!r}")
    return (f"(SELECT r.count FROM model_results r WHERE r.digest = i.digest "
            f"AND r.kind = '{kind}' ORDER BY r.at DESC LIMIT 1)")


def label_sql(n_labels: int) -> str:
    """SQL condition: some classifier's best label for picture `i` is one of `n_labels`
    parameters."""
    marks = ",".join("?" * n_labels)
    return (f"EXISTS (SELECT 1 FROM model_results r WHERE r.digest = i.digest "
            f"AND r.kind = '{CLASS_KIND}' AND r.label IN ({marks}))")


def quality_sql() -> str:
    """SQL for picture `i`'s latest quality score (NULL when no aesthetic model has
    scored it: matched by neither quality:X nor -quality:X, last in sort:-quality)."""
    return (f"(SELECT json_extract(r.data, '$.quality') FROM model_results r "
            f"WHERE r.digest = i.digest AND r.kind = '{QUALITY_KIND}' "
            f"ORDER BY r.at DESC LIMIT 1)")


def scored_digests(conn: sqlite3.Connection, recipe: str) -> set[str]:
    """Digests this quality recipe has scored already."""
    rows = conn.execute("SELECT digest FROM model_results WHERE kind = ? AND recipe = ?",
                        (QUALITY_KIND, recipe))
    return {r[0] for r in rows}


def quality_scores(conn: sqlite3.Connection, digests: Sequence[str]) -> dict[str, float]:
    """digest → its latest quality score, for those of `digests` an aesthetic model has
    scored (one query, whatever the number of digests)."""
    rows = conn.execute(
        f"SELECT d.value, (SELECT json_extract(r.data, '$.quality') FROM model_results r "
        f"WHERE r.digest = d.value AND r.kind = '{QUALITY_KIND}' ORDER BY r.at DESC LIMIT 1) "
        f"FROM json_each(?) d", (as_param(dict.fromkeys(digests)),))
    return {r[0]: float(r[1]) for r in rows if r[1] is not None}


def latest_quality(conn: sqlite3.Connection, digest: str) -> dict[str, Any] | None:
    """One picture's latest quality record ({"quality", "raw", "label"}), None if unscored."""
    row = conn.execute(
        "SELECT data FROM model_results WHERE digest = ? AND kind = ? ORDER BY at DESC LIMIT 1",
        (digest, QUALITY_KIND)).fetchone()
    return json.loads(row[0]) if row else None
