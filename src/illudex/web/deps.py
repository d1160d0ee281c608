"""What every route shares: the server's state, a borrowed Library, JSON forms of rows,
and checks on values that come from a request (ids, folders)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from illudex.catalog.images import ImageRow
from illudex.errors import NotFound
from illudex.library import Library
from illudex.web.jobs import JobManager
from illudex.web.state import DupesCache, LibraryPool, PathCache


@dataclass
class ServerState:
    library_dir: Path
    pool: LibraryPool
    jobs: JobManager
    dupes: DupesCache = field(default_factory=DupesCache)
    thumbs: PathCache = field(default_factory=PathCache)
    clusters: dict[int, Any] = field(default_factory=dict)  # job id -> ClusterResult

    def catalog_changed(self) -> None:
        """Forget what a scan or a file action may have made stale."""
        self.thumbs.clear()  # a rescanned file may have new content under the same id


def server_state(request: Request) -> ServerState:
    return request.app.state.illudex


def borrow_library(request: Request) -> Iterator[Library]:
    with server_state(request).pool.use() as lib:
        yield lib


Lib = Annotated[Library, Depends(borrow_library)]
State = Annotated[ServerState, Depends(server_state)]


def image_json(row: ImageRow) -> dict[str, Any]:
    return {
        "id": row.id, "path": row.path, "name": os.path.basename(row.path),
        "folder": os.path.dirname(row.path), "size": row.size, "width": row.width,
        "height": row.height, "format": row.format, "mtime": row.mtime_ns / 1e9,
        "digest": row.digest, "in_library": row.folder_id is not None,
        "thumb": f"/api/images/{row.id}/thumb?v={row.digest[:12]}",
        "file": f"/api/images/{row.id}/file?v={row.digest[:12]}",
    }


MAX_ID = 2**63 - 1  # catalog ids are SQLite integers: a larger one names no picture


def rows_or_404(lib: Library, ids: list[int]) -> dict[int, ImageRow]:
    """The rows of `ids`; NotFound (a 404, by the app's mapping) naming the missing ones."""
    rows = lib.images([i for i in ids if 0 < i <= MAX_ID])
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"no picture with id {', '.join(map(str, missing[:10]))} in the catalog")
    return rows


def checked_folder(text: str, library_dir: Path, *, must_exist: bool) -> str:
    """A folder named in a request: absolute, no control characters, not the library's own."""
    if not text or any(ord(c) < 32 for c in text):
        raise HTTPException(400, f"not a folder name: {text!r}")
    expanded = os.path.expanduser(text)
    if not os.path.isabs(expanded):
        raise HTTPException(400, f"{text}: give the full path of the folder (from /)")
    path = os.path.normpath(expanded)
    real = os.path.realpath(path)
    library = os.path.realpath(library_dir)
    if real == library or real.startswith(library + os.sep):
        raise HTTPException(400, f"{text}: that is the library's own folder")
    if must_exist and not (os.path.isdir(path) or os.path.isfile(path)):
        raise HTTPException(400, f"{text}: no such file or folder")  # a picture: a folder of one
    return path
