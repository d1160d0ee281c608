"""Catalogued pictures found by what a person names: a path (a picture, or a folder of
them, as typed: `~` and relative paths allowed). The library and its services share
these, so `illudex dupes ~/art` and `illudex tag ~/art` mean the same pictures.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from illudex.catalog.folders import list_folders
from illudex.catalog.images import ImageRow, ids_under, row_by_path, rows_by_ids
from illudex.errors import NotFound


def absolute(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))


def ids_at(conn: sqlite3.Connection, paths: Iterable[str | Path]) -> list[int]:
    """Catalogued pictures under `paths` (present in library folders), by id."""
    ids: set[int] = set()
    for path in paths:
        where = absolute(path)
        if os.path.isfile(where):  # a picture named alone
            row = row_by_path(conn, where)
            ids.update([row.id] if row is not None and row.folder_id is not None else [])
        else:
            ids.update(ids_under(conn, where))
    return sorted(ids)


def present_ids(conn: sqlite3.Connection) -> list[int]:
    """Every picture in a library folder."""
    return ids_at(conn, list_folders(conn))


def picture_at(conn: sqlite3.Connection, path: str | Path) -> ImageRow:
    row = row_by_path(conn, absolute(path))
    if row is None:
        raise NotFound(f"{path}: not in the catalog (scan its folder first)")
    return row


def paths_at(conn: sqlite3.Connection, paths: Iterable[str | Path]) -> list[tuple[int, str]]:
    """(id, path) of the pictures under `paths`, by id: what the model runners take."""
    rows = rows_by_ids(conn, ids_at(conn, paths))
    return [(i, rows[i].path) for i in sorted(rows)]
