"""History: the journal (every action, what it moved or changed, its state), undo of any
one action, the trash's contents with restore, and a change token pages poll to know
that something changed elsewhere (the CLI, a scan, another tab)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from illudex.web.deps import Lib, State, image_json

router = APIRouter(prefix="/api", tags=["history"])


class UndoBody(BaseModel):
    action: int | None = Field(default=None, ge=1, le=2**63 - 1)


class RestoreBody(BaseModel):
    entries: list[int] = Field(min_length=1, max_length=10_000)


@router.get("/changes")
def changes(lib: Lib) -> dict[str, Any]:
    """A token that differs whenever pictures, the journal or duplicate decisions changed."""
    return {"token": lib.history.change_token()}


@router.get("/history")
def history(lib: Lib, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Actions, newest first, each with its first operations and how many there are."""
    limit, offset = min(max(limit, 1), 200), max(offset, 0)
    return {"actions": [a.as_json() for a in lib.history.actions(limit, offset)],
            "total": lib.history.count_actions(), "token": lib.history.change_token()}


@router.post("/undo")
def undo(body: UndoBody, lib: Lib, state: State) -> dict[str, Any]:
    """Reverse one file action (default: the last one) exactly."""
    report = lib.history.undo(body.action)
    s = state.dupes.current()
    if s is not None and report.action_id is not None and not report.conflicts:
        s.actions.pop(report.action_id, None)  # its groups are open for review again
    state.catalog_changed()
    return {"action": report.action_id, "kind": report.kind, "summary": report.summary,
            "restored": report.restored, "conflicts": report.conflicts,
            "token": lib.history.change_token()}


@router.get("/trash")
def trash(lib: Lib, limit: int = 500) -> dict[str, Any]:
    """Pictures in the trash (put there through the journal), newest first."""
    items = lib.history.trash(min(max(limit, 1), 5000))
    rows = lib.images([i.image_id for i in items if i.image_id is not None])
    return {"items": [{**i.as_json(),
                       "image": image_json(rows[i.image_id]) if i.image_id in rows else None}
                      for i in items]}


@router.post("/trash/restore")
def restore(body: RestoreBody, lib: Lib, state: State) -> dict[str, Any]:
    """Put trashed pictures back where they were (one action, itself undoable)."""
    result = lib.history.restore(body.entries)
    state.catalog_changed()
    return {"action": result.action_id,
            "done": [{"from": a, "to": b} for a, b in result.done],
            "failed": result.failed, "token": lib.history.change_token()}
