"""Rows of the `images` table and what hangs off them (sidecar tags)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from illudex.catalog.idlists import IN_LIST, as_param
from illudex.catalog.tagrows import tag_ids
from illudex.paths import from_catalog, is_under, to_catalog


@dataclass(frozen=True)
class ImageRow:
    id: int
    path: str  # the real path to open
    size: int
    mtime_ns: int
    digest: str
    width: int
    height: int
    format: str
    sidecar_mtime_ns: int | None
    folder_id: int | None


_COLUMNS = "id, path, raw_path, size, mtime_ns, digest, width, height, format, " \
    "sidecar_mtime_ns, folder_id"


def _row(r: sqlite3.Row) -> ImageRow:
    return ImageRow(
        id=r["id"], path=from_catalog(r["path"], r["raw_path"]), size=r["size"],
        mtime_ns=r["mtime_ns"], digest=r["digest"], width=r["width"] or 0,
        height=r["height"] or 0, format=r["format"] or "", sidecar_mtime_ns=r["sidecar_mtime_ns"],
        folder_id=r["folder_id"],
    )


def _path_range(folder: str) -> tuple[str, str]:
    """Bounds of a range on the path index: every catalog path under `folder` sorts
    between them (the caller still checks `is_under`: raw names sort by their display)."""
    display, _ = to_catalog(folder.rstrip("/"))
    prefix = display + "/"
    return prefix, prefix[:-1] + chr(ord("/") + 1)


def rows_under(conn: sqlite3.Connection, folder: str) -> dict[str, ImageRow]:
    """Every catalogued image under `folder` (present in a library folder), by real path."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE path >= ? AND path < ?",
                        _path_range(folder))
    out = {}
    for r in rows:
        row = _row(r)
        if is_under(row.path, folder):
            out[row.path] = row
    return out


def ids_under(conn: sqlite3.Connection, folder: str) -> list[int]:
    """Ids of the catalogued images under `folder` that are present in a library folder
    (`rows_under` without building the rows: a re-run only needs the ids)."""
    rows = conn.execute(
        "SELECT id, path, raw_path FROM images WHERE path >= ? AND path < ? "
        "AND folder_id IS NOT NULL", _path_range(folder),
    )
    return [r[0] for r in rows if is_under(from_catalog(r[1], r[2]), folder)]


def rows_by_ids(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, ImageRow]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE id IN {IN_LIST}", (as_param(ids),))
    return {r["id"]: _row(r) for r in rows}


def existing_ids(conn: sqlite3.Connection, ids: Iterable[int]) -> set[int]:
    """Those of `ids` still in the catalog (a scan may remove a file during a long run)."""
    return {int(r[0]) for r in conn.execute(f"SELECT id FROM images WHERE id IN {IN_LIST}",
                                            (as_param(ids),))}


def rows_by_digest(conn: sqlite3.Connection, digest: str) -> list[ImageRow]:
    return [_row(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM images WHERE digest = ?",
                                          (digest,))]


def row_by_path(conn: sqlite3.Connection, path: str) -> ImageRow | None:
    display, _ = to_catalog(path)
    r = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE path = ?", (display,)).fetchone()
    return _row(r) if r else None


@dataclass
class ImageFacts:
    """What a scan learnt about one file."""

    path: str
    size: int
    mtime_ns: int
    digest: str
    width: int
    height: int
    format: str
    mode: str
    has_alpha: bool
    animated: bool
    n_frames: int
    params: dict[str, str]


def upsert(conn: sqlite3.Connection, facts: ImageFacts, folder_id: int | None) -> int:
    """Insert or update the row for `facts.path`; returns its id."""
    display, raw = to_catalog(facts.path)
    now = time.time()
    params = json.dumps(facts.params, ensure_ascii=False) if facts.params else None
    values = (raw, folder_id, facts.size, facts.mtime_ns, facts.digest, facts.width, facts.height,
              facts.format, facts.mode, int(facts.has_alpha), int(facts.animated),
              facts.n_frames, params, now)
    existing = conn.execute("SELECT id, digest FROM images WHERE path = ?", (display,)).fetchone()
    if existing and existing[1] != facts.digest:
        # New content: what models said about the old picture must be redone.
        conn.execute("DELETE FROM model_runs WHERE image_id = ?", (existing[0],))
    if existing:
        conn.execute(
            "UPDATE images SET raw_path=?, folder_id=?, size=?, mtime_ns=?, digest=?, width=?, "
            "height=?, format=?, mode=?, has_alpha=?, animated=?, n_frames=?, params=?, "
            "scanned_at=? WHERE id=?",
            (*values, existing[0]),
        )
        return int(existing[0])
    cur = conn.execute(
        "INSERT INTO images (raw_path, folder_id, size, mtime_ns, digest, width, height, format, "
        "mode, has_alpha, animated, n_frames, params, scanned_at, path, added_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (*values, display, now),
    )
    return int(cur.lastrowid)


def move_row(
    conn: sqlite3.Connection, image_id: int, new_path: str, folder_id: int | None,
    mtime_ns: int | None = None,
) -> None:
    """Point a row at the file's new place (moves keep the image's tags and decisions)."""
    display, raw = to_catalog(new_path)
    conn.execute(
        "UPDATE images SET path=?, raw_path=?, folder_id=?, mtime_ns=COALESCE(?, mtime_ns) "
        "WHERE id=?",
        (display, raw, folder_id, mtime_ns, image_id),
    )


def delete_rows(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    conn.executemany("DELETE FROM images WHERE id = ?", ((i,) for i in ids))


def set_sidecar_tags(
    conn: sqlite3.Connection, image_id: int, names: Sequence[str], mtime_ns: int | None
) -> None:
    """Replace the image's `sidecar` tags by `names` (the caption file is the truth for them)."""
    conn.execute("DELETE FROM image_tags WHERE image_id = ? AND source = 'sidecar'", (image_id,))
    ids = tag_ids(conn, names)
    conn.executemany(
        "INSERT OR IGNORE INTO image_tags (image_id, tag_id, source, score) "
        "VALUES (?, ?, 'sidecar', NULL)",
        ((image_id, ids[n]) for n in dict.fromkeys(names)),
    )
    conn.execute("UPDATE images SET sidecar_mtime_ns = ? WHERE id = ?", (mtime_ns, image_id))


def set_sidecar_mtime(conn: sqlite3.Connection, image_id: int, mtime_ns: int) -> None:
    """Note the caption file's mtime after illudex wrote it (a scan then leaves it be)."""
    conn.execute("UPDATE images SET sidecar_mtime_ns = ? WHERE id = ?", (mtime_ns, image_id))


def present_ids_with_digest(conn: sqlite3.Connection, digest: str) -> list[int]:
    """Pictures in a library folder whose content has this digest, by id."""
    return [int(r[0]) for r in conn.execute(
        "SELECT id FROM images WHERE digest = ? AND folder_id IS NOT NULL ORDER BY id",
        (digest,))]


def scanned_since(conn: sqlite3.Connection, since: float) -> list[tuple[int, float]]:
    """Present pictures read (new or changed content) after `since`: (id, scanned_at)."""
    return [(int(i), float(t)) for i, t in conn.execute(
        "SELECT id, scanned_at FROM images WHERE scanned_at > ? AND folder_id IS NOT NULL "
        "ORDER BY scanned_at", (since,))]


def last_scanned(conn: sqlite3.Connection) -> float:
    """When the catalog last read a picture (0.0 for an empty catalog)."""
    value = conn.execute("SELECT MAX(scanned_at) FROM images").fetchone()[0]
    return float(value or 0.0)


def all_ids(conn: sqlite3.Connection) -> set[int]:
    """Every catalogued image, present or not."""
    return {int(r[0]) for r in conn.execute("SELECT id FROM images")}


def set_folder(conn: sqlite3.Connection, image_id: int, folder_id: int) -> None:
    """The image is back in library folder `folder_id` (it was outside every one)."""
    conn.execute("UPDATE images SET folder_id = ? WHERE id = ?", (folder_id, image_id))


def paths_by_ids(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
    """The real path of each of `ids` still in the catalog."""
    rows = conn.execute(f"SELECT id, path, raw_path FROM images WHERE id IN {IN_LIST}",
                        (as_param(ids),))
    return {int(r[0]): from_catalog(r[1], r[2]) for r in rows}
