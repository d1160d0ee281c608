"""Pictures by catalog id: listing (with the query language), facts,
thumbnails and the file itself. No route takes a path: files are found through the catalog."""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from illudex.errors import InvalidInput
from illudex.filecheck import inside_folders, why_not
from illudex.library import Library
from illudex.picturefiles import is_image_name
from illudex.thumbs import SIZES, ThumbnailError, thumbnail
from illudex.web.deps import (
    Lib,
    State,
    checked_folder,
    image_json,
    rows_or_404,
)

router = APIRouter(prefix="/api/images", tags=["images"])
MAX_PAGE = 500
MAX_IDS = 200_000


def find_ids(lib: Library, q: str, limit: int, offset: int) -> tuple[
    list[tuple[int, float | None]], int, list[str]
]:
    """One page of (id, score) for query `q`, the total, and the search's warnings."""
    try:
        result = lib.search(q, limit=limit, offset=offset)
    except InvalidInput as e:  # QuerySyntaxError / QueryPlanError carry a readable message
        raise HTTPException(400, f"query: {e}") from None
    hits = [(int(i), score) for i, _, score in result.results]
    return hits, int(result.total), list(result.warnings)


@router.get("")
def list_images(
    lib: Lib, state: State,
    q: str = "", offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """Pictures matching a query (empty: all), one page at a time."""
    hits, total, warnings = find_ids(lib, q, limit, offset)
    rows = lib.images([i for i, _ in hits])
    items = [{**image_json(rows[i]), "score": s} for i, s in hits if i in rows]
    return {"total": total, "offset": offset, "items": items, "warnings": warnings}


@router.get("/ids")
def list_ids(lib: Lib, state: State, q: str = "") -> dict[str, Any]:
    """Every id matching a query (for "select all")."""
    hits, total, _ = find_ids(lib, q, MAX_IDS, 0)
    return {"total": total, "ids": [i for i, _ in hits]}


class FilesBody(BaseModel):
    """Trash, move or copy chosen pictures (with their captions); undo through /api/undo."""

    ids: list[int] = Field(min_length=1, max_length=MAX_IDS)
    how: Literal["trash", "move", "copy"]
    dest: str | None = None


@router.post("/files")
def file_pictures(body: FilesBody, lib: Lib, state: State) -> dict[str, Any]:
    rows_or_404(lib, body.ids)
    dest = None
    if body.how != "trash":
        if not body.dest or not body.dest.strip():
            raise HTTPException(400, f"say which folder to {body.how} the pictures to")
        dest = checked_folder(body.dest.strip(), state.library_dir, must_exist=False)
    action, failed = lib.files.handle(body.ids, body.how, dest)
    state.catalog_changed()
    return {"action": action, "how": body.how, "dest": dest, "pictures": len(body.ids),
            "failed": failed}


@router.get("/{image_id}")
def get_image(image_id: int, lib: Lib) -> dict[str, Any]:
    row = rows_or_404(lib, [image_id])[image_id]
    data = image_json(row)
    data["tags"] = _tags(lib, image_id)
    data["exists"] = os.path.isfile(row.path)
    data["quality"] = _quality(lib, row.digest)
    return data


def _quality(lib: Library, digest: str) -> dict[str, Any] | None:
    """The stored aesthetic score and its label; None when never scored."""
    found = lib.models.quality_of(digest)
    return {"score": found["quality"], "label": found.get("label")} if found else None


def _tags(lib: Library, image_id: int) -> list[dict[str, Any]]:
    return [{"name": t.name, "category": t.category, "source": t.source, "score": t.score}
            for t in lib.tags.of_image(image_id)]


@router.get("/{image_id}/thumb")
async def get_thumbnail(
    image_id: int, request: Request, size: int = 256, v: str = ""
) -> Response:
    """The picture as a WebP thumbnail (longest side `size`), made once and cached."""
    if size not in SIZES:
        raise HTTPException(400, f"size must be one of {', '.join(map(str, SIZES))}")
    state = request.app.state.illudex
    # A gallery asks for a hundred of these at once: known ones skip the thread pool.
    path = state.thumbs.get((image_id, size))
    try:
        data = path.read_bytes() if path is not None else None  # a few KB: no thread needed
    except OSError:
        data = None
    if data is None:
        path = await run_in_threadpool(_make_thumbnail, state, image_id, size)
        state.thumbs.put((image_id, size), path)
        data = await run_in_threadpool(path.read_bytes)
    # The URL carries the content digest (`v`): with it the answer never changes.
    cache = "private, max-age=31536000, immutable" if v else "private, no-cache"
    return Response(data, media_type="image/webp", headers={"Cache-Control": cache})


def _make_thumbnail(state: Any, image_id: int, size: int) -> Path:
    with state.pool.use() as lib:
        rows_or_404(lib, [image_id])
        try:
            return thumbnail(lib, image_id, size)
        except ThumbnailError as e:
            raise HTTPException(422, str(e)) from None


@router.get("/{image_id}/file")
def get_file(image_id: int, lib: Lib, v: str = "") -> StreamingResponse:
    """The picture's own file, found through the catalog: only while it is still the
    catalogued picture (same size and mtime, a plain file, inside a library folder or
    the library's trash), never through a link."""
    row = rows_or_404(lib, [image_id])[image_id]
    places = [*lib.folders(), str(lib.dir / "trash")]
    problem = None if is_image_name(row.path) else f"{row.path}: not a picture file name"
    problem = problem or why_not(row, places, hash_if_touched=False)
    if problem:
        raise HTTPException(404, f"{problem}; not served")
    stream = _open_still_catalogued(row.path, row.size, row.mtime_ns, places)
    media = mimetypes.guess_type(row.path)[0] or "application/octet-stream"
    cache = "private, max-age=3600" if v else "private, no-cache"
    return StreamingResponse(_chunks(stream), media_type=media, headers={
        "Cache-Control": cache, "X-Content-Type-Options": "nosniff",
        "Content-Length": str(row.size),
        "Content-Disposition": _inline(os.path.basename(row.path)),
    })


def _open_still_catalogued(path: str, size: int, mtime_ns: int, places: list[str]) -> BinaryIO:
    """Open `path` without following a link, and check what was opened (the checks before
    looked at the path; the file could have been swapped since)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise HTTPException(404, f"{path}: cannot be opened ({e.strerror or e}); not served"
                            ) from None
    stream = os.fdopen(fd, "rb")
    st = os.fstat(fd)
    opened = f"/proc/self/fd/{fd}"
    real = os.readlink(opened) if os.path.islink(opened) else path
    if not stat.S_ISREG(st.st_mode) or (st.st_size, st.st_mtime_ns) != (size, mtime_ns) or \
            not inside_folders(real, places):
        stream.close()
        raise HTTPException(404, f"{path}: changed since the last scan; not served")
    return stream


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(1 << 16):
            yield chunk


def _inline(name: str) -> str:
    """A Content-Disposition for any file name (non-ASCII and non-UTF-8 bytes quoted)."""
    quoted = quote(os.fsencode(name))
    return f"inline; filename*=utf-8''{quoted}"


@router.get("/{image_id}/similar")
def similar(
    image_id: int, lib: Lib, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 30
) -> dict[str, Any]:
    rows_or_404(lib, [image_id])
    hits = lib.similarity.like_picture(image_id, limit=limit)
    rows = lib.images([int(i) for i, _ in hits])
    return {"items": [{**image_json(rows[int(i)]), "score": float(s)}
                      for i, s in hits if int(i) in rows and int(i) != image_id]}

