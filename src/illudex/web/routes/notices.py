"""Notices from the watcher (`illudex watch --dupes`, `serve --watch`): new duplicates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from illudex.watch.notices import NoticeLog
from illudex.web.deps import MAX_ID, State

router = APIRouter(prefix="/api/watch", tags=["watch"])


@router.get("/notices")
def notices(state: State, after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
            limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Notices numbered from 1, those after `after` (poll with `last`, the newest id)."""
    log = NoticeLog(state.library_dir)
    return {"items": log.read(after=after, limit=limit), "last": log.count()}
