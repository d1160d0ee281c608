"""Search by an uploaded picture and by words (the query language lives in /api/images?q=)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from illudex.library import Library
from illudex.web.deps import Lib, image_json

router = APIRouter(prefix="/api/search", tags=["search"])
UPLOAD_PATH = "/api/search/upload"


def _items(lib: Library, hits: list[tuple[int, float]]) -> list[dict[str, Any]]:
    rows = lib.images([int(i) for i, _ in hits])
    return [{**image_json(rows[int(i)]), "score": float(s)} for i, s in hits if int(i) in rows]


@router.post("/upload")
async def by_upload(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    """Pictures like the one sent as the request body (its raw bytes, Content-Type image/*)."""
    data = await request.body()  # the security middleware has capped its size
    if not data:
        raise HTTPException(400, "send a picture as the request body")
    return await run_in_threadpool(_search_upload, request.app.state.illudex, data, limit)


def _search_upload(state: Any, data: bytes, limit: int) -> dict[str, Any]:
    with state.pool.use() as lib:
        hits = lib.similarity.like_upload(data, limit=limit)
        return {"items": _items(lib, hits)}


@router.get("/text")
def by_text(
    lib: Lib, q: str, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    """Pictures that match a description in words (needs a text-image model)."""
    if not q.strip():
        raise HTTPException(400, "say what to look for")
    return {"items": _items(lib, lib.similarity.like_text(q, limit=limit))}
