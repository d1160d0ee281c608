"""Teaching a tag from examples (illudex.learn): fit, show suggestions and the pictures to
label next, and apply (an undoable tag edit). The page keeps the labels between rounds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from illudex.learn.teach import DEFAULT_MIN_SCORE, TeachResult
from illudex.library import Library
from illudex.web.deps import Lib, State, image_json

router = APIRouter(prefix="/api", tags=["teach"])
MAX_IDS = 10_000


class TeachBody(BaseModel):
    tag: str = Field(min_length=1, max_length=200)
    yes: list[int] = Field(default_factory=list, max_length=MAX_IDS)
    no: list[int] = Field(default_factory=list, max_length=MAX_IDS)
    yes_query: str = Field(default="", max_length=2000)  # more examples, by a search
    no_query: str = Field(default="", max_length=2000)
    embedding: str | None = Field(default=None, max_length=500)
    apply: bool = False
    min: float = Field(default=DEFAULT_MIN_SCORE, ge=0.0, le=1.0)


@router.post("/teach")
def teach(body: TeachBody, lib: Lib, state: State) -> dict[str, Any]:
    """One round: the fitted tag's suggestions, review list and cross-validation; with
    `apply`, the tag is also written (source learned:TAG) as one undoable action."""
    yes = set(body.yes) | _matching(lib, body.yes_query)
    no = (set(body.no) | _matching(lib, body.no_query)) - yes
    result, action = lib.models.teach(body.tag, sorted(yes), sorted(no), model=body.embedding,
                                      apply_min=body.min if body.apply else None)
    if body.apply:
        state.catalog_changed()
    applied = {"action": action, "images": len(result.to_apply(body.min))} if body.apply \
        else None
    return {**_with_images(lib, result), "yes_ids": result.yes, "no_ids": result.no,
            "applied": applied, "token": lib.history.change_token()}


def _matching(lib: Library, query: str) -> set[int]:
    if not query.strip():
        return set()
    return {image_id for image_id, _, _ in lib.search(query, limit=None).results}


def _with_images(lib: Library, result: TeachResult) -> dict[str, Any]:
    shown = result.to_json()
    ids = [s.id for s in result.suggestions + result.review]
    rows = lib.images(ids)
    for key in ("suggestions", "review"):
        shown[key] = [{**image_json(rows[r["id"]]), "score": r["score"]}  # type: ignore[index]
                      for r in shown[key] if r["id"] in rows]  # type: ignore[attr-defined]
    return shown
