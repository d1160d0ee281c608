"""Vocabulary import and export: CSV (booru forms) and one JSON document.

CSV kinds and their columns (a header row is required; extra columns are ignored):
  tags          name,category            (category a name or Danbooru's number; post_count ok)
  aliases       antecedent_name,consequent_name   (booru form; also alias,tag)
  implications  antecedent_name,consequent_name   (also tag,implied)
  translations  tag,lang,name
Rows with a `status` column other than active are skipped (Danbooru exports keep deleted
ones). A bad row (a loop, an empty name) does not stop the import: it is reported with its
line number. JSON holds all four: {"tags": [{"name", "category"}], "aliases": {alias: tag},
"implications": [[tag, implied]], "translations": [{"tag", "lang", "name"}]}.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from illudex.catalog import tagrows
from illudex.catalog.transaction import transaction
from illudex.errors import InvalidInput
from illudex.tags.history import TagEditError
from illudex.tags.names import check_category, ensure_tag, normalize_tag
from illudex.tags.vocabulary import (
    add_alias,
    add_implication,
    add_translation,
    list_aliases,
    list_implications,
    list_translations,
)

KINDS = ("tags", "aliases", "implications", "translations")
COLUMNS = {
    "tags": (("name",), ("category",)),
    "aliases": (("antecedent_name", "alias"), ("consequent_name", "tag")),
    "implications": (("antecedent_name", "tag"), ("consequent_name", "implied")),
    "translations": (("tag",), ("lang",), ("name", "translation")),
}


@dataclass
class ImportReport:
    """How an import went: rows applied, skipped (inactive), and errors by line."""

    applied: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"unknown vocabulary kind {kind!r}: use one of {KINDS}")


def _set_tag(conn: sqlite3.Connection, name: str, category: str) -> None:
    tag_id = ensure_tag(conn, name, category)
    tagrows.set_category(conn, tag_id, check_category(category))


APPLY: dict[str, Callable[..., object]] = {
    "tags": _set_tag,
    "aliases": add_alias,
    "implications": add_implication,
    "translations": add_translation,
}


def _pick_columns(kind: str, header: list[str], path: Path) -> list[str]:
    lowered = [h.strip().lower() for h in header]
    picked = []
    for choices in COLUMNS[kind]:
        found = next((c for c in choices if c in lowered), None)
        if found is None:
            raise InvalidInput(
                f"{path}: no column {' or '.join(choices)!s} for {kind}; the header has "
                f"{', '.join(lowered) or 'nothing'}"
            )
        picked.append(header[lowered.index(found)])
    return picked


def import_csv(conn: sqlite3.Connection, path: str | Path, kind: str) -> ImportReport:
    """Import one CSV of `kind` (see module doc); all applied rows commit together."""
    _check_kind(kind)
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = _pick_columns(kind, list(reader.fieldnames or []), path)
        rows = [
            (reader.line_num, [row.get(c) or "" for c in columns], row.get("status"))
            for row in reader
        ]
    return _apply_rows(conn, kind, rows, str(path))


def _apply_rows(
    conn: sqlite3.Connection,
    kind: str,
    rows: Iterable[tuple[int, list[str] | ValueError, str | None]],
    where: str,
) -> ImportReport:
    report = ImportReport()
    with transaction(conn, immediate=True):
        for line, values, status in rows:
            if isinstance(values, ValueError):  # an entry of the wrong shape
                report.errors.append(f"{where}:{line}: {values}")
                continue
            if status and status.strip().lower() not in ("active", ""):
                report.skipped += 1
                continue
            try:
                with transaction(conn):  # a savepoint: a bad row leaves nothing behind
                    APPLY[kind](conn, *values)
                report.applied += 1
            except (TagEditError, ValueError) as exc:
                report.errors.append(f"{where}:{line}: {exc}")
    return report


def export_csv(conn: sqlite3.Connection, path: str | Path, kind: str) -> int:
    """Write one CSV of `kind` in the booru form; returns the number of rows."""
    _check_kind(kind)
    header, rows = _export_rows(conn, kind)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return len(rows)


def _export_rows(conn: sqlite3.Connection, kind: str) -> tuple[list[str], list[tuple]]:
    if kind == "tags":
        return ["name", "category", "post_count"], list(tagrows.by_image_count(conn))
    if kind == "aliases":
        return ["antecedent_name", "consequent_name"], list_aliases(conn)
    if kind == "implications":
        return ["antecedent_name", "consequent_name"], list_implications(conn)
    return ["tag", "lang", "name"], list_translations(conn)


def export_json(conn: sqlite3.Connection, path: str | Path) -> dict:
    """Write the whole vocabulary as one JSON document; returns it."""
    data = {
        "tags": [{"name": n, "category": c} for n, c in tagrows.by_name(conn)],
        "aliases": dict(list_aliases(conn)),
        "implications": [list(p) for p in list_implications(conn)],
        "translations": [
            {"tag": t, "lang": lang, "name": name} for t, lang, name in list_translations(conn)
        ],
    }
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return data


def import_json(conn: sqlite3.Connection, path: str | Path) -> dict[str, ImportReport]:
    """Import a document written by `export_json` (any part may be missing)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc}); expected an export_json file"
                           ) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a JSON object with tags/aliases/implications")
    parts = {kind: _json_part(data, kind, path) for kind in KINDS}
    return {
        kind: _apply_rows(conn, kind, ((n + 1, row, None) for n, row in enumerate(rows)),
                          f"{path} {kind}#")
        for kind, rows in parts.items()
    }


# What one JSON entry of each kind holds: an object's fields (with defaults), or a pair.
JSON_FIELDS = {"tags": (("name", ""), ("category", "general")),
               "translations": (("tag", ""), ("lang", ""), ("name", ""))}


def _json_part(data: dict, kind: str, path: str | Path) -> list[list[str] | ValueError]:
    """One kind's entries as row values; an entry of the wrong shape becomes its error."""
    part = data.get(kind, {} if kind == "aliases" else [])
    if kind == "aliases":
        if not isinstance(part, dict):
            raise InvalidInput(f"{path}: \"aliases\" must be an object {{alias: tag}}")
        part = [[alias, tag] for alias, tag in part.items()]
    elif not isinstance(part, list):
        raise InvalidInput(f"{path}: \"{kind}\" must be a list")
    return [_json_entry(kind, entry) for entry in part]


def _json_entry(kind: str, entry: object) -> list[str] | ValueError:
    if kind in JSON_FIELDS:
        fields = JSON_FIELDS[kind]
        if not isinstance(entry, dict):
            names = ", ".join(f for f, _ in fields)
            return ValueError(f"expected an object with {names}, got {_shown(entry)}")
        values = [entry.get(f, default) for f, default in fields]
    elif not isinstance(entry, list) or len(entry) != 2:
        return ValueError(f"expected a pair [tag, implied tag], got {_shown(entry)}")
    else:
        values = list(entry)
    bad = next((v for v in values if not isinstance(v, str)), None)
    if bad is not None or any(v is None for v in values):
        return ValueError(f"expected text, got {_shown(bad)}")
    return values


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["KINDS", "ImportReport", "export_csv", "export_json", "import_csv", "import_json",
           "normalize_tag"]
