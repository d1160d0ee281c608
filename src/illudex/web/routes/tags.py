"""Tags: the vocabulary with counts, autocomplete (aliases and translations shown), aliases,
implications, translations, and batch edits on chosen pictures (undoable)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from illudex.web.deps import Lib, feature, has_feature, rows_or_404

router = APIRouter(prefix="/api/tags", tags=["tags"])
MAX_BATCH = 200_000


class BatchBody(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=MAX_BATCH)
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)


class UndoEditBody(BaseModel):
    edit: int  # what /batch returned: a journal action (or a tag edit id)


class AliasBody(BaseModel):
    alias: str = Field(min_length=1, max_length=200)
    tag: str = Field(min_length=1, max_length=200)


class ImplicationBody(BaseModel):
    tag: str = Field(min_length=1, max_length=200)
    implied: str = Field(min_length=1, max_length=200)


class TranslationBody(BaseModel):
    tag: str = Field(min_length=1, max_length=200)
    lang: str = Field(min_length=2, max_length=20)
    name: str = Field(min_length=1, max_length=200)


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of a tag-ish object, tuple or dict (a match carries its `.tag`)."""
    if hasattr(obj, "tag") and not isinstance(obj, tuple | list | dict | str):
        inner = obj.tag
        return {n: getattr(obj, n) if hasattr(obj, n) and n != "tag" else getattr(inner, n, None)
                for n in names}
    if isinstance(obj, dict):
        return {n: obj.get(n) for n in names}
    if isinstance(obj, tuple | list):
        return dict(zip(names, obj, strict=False))
    return {n: getattr(obj, n, None) for n in names}


@router.get("")
def tags(
    lib: Lib, prefix: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> dict[str, Any]:
    """Tags with how many pictures hold each, most used first."""
    found = feature(lib, "tag_list")(prefix=prefix or None, limit=limit)
    return {"tags": [_fields(t, ("name", "category", "count")) for t in found]}


@router.get("/complete")
def complete(
    lib: Lib, q: str, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> dict[str, Any]:
    """Tags for typed text: by name, alias, translation, or a near spelling."""
    if not q.strip():
        return {"matches": []}
    found = feature(lib, "find_tags")(q, limit=limit)
    return {"matches": [_fields(m, ("name", "category", "count", "reason", "matched", "via"))
                        for m in found]}


@router.post("/batch")
def batch(body: BatchBody, lib: Lib) -> dict[str, Any]:
    """Add and remove tags on pictures; each change is one undoable edit."""
    if not body.add and not body.remove:
        raise HTTPException(400, "name tags to add or remove")
    rows_or_404(lib, body.ids)
    edits = []
    if body.add:
        edits.append(feature(lib, "add_tags")(body.ids, body.add))
    if body.remove:
        edits.append(feature(lib, "remove_tags")(body.ids, body.remove))
    return {"edits": [e for e in edits if e is not None], "images": len(body.ids)}


@router.post("/undo")
def undo_edit(body: UndoEditBody, lib: Lib) -> dict[str, Any]:
    """Reverse a tag edit made by /batch."""
    if has_feature(lib, "undo_tag_edit"):
        undone = lib.undo_tag_edit(body.edit)
        return {"edit": body.edit, "undone": True, "summary": getattr(undone, "summary", "")}
    recent = {r["id"]: r["kind"] for r in lib.history(500)}
    if recent.get(body.edit) != "tag-edit":
        raise HTTPException(404, f"no recent tag edit {body.edit} to undo")
    report = lib.undo(body.edit)
    if report.action_id is None or report.conflicts:
        raise HTTPException(409, "; ".join(report.conflicts) or f"nothing to undo for {body.edit}")
    return {"edit": body.edit, "undone": True, "summary": report.summary}


@router.get("/aliases")
def aliases(lib: Lib) -> dict[str, Any]:
    return {"aliases": [_fields(a, ("alias", "tag")) for a in feature(lib, "aliases")()]}


@router.post("/aliases")
def add_alias(body: AliasBody, lib: Lib) -> dict[str, Any]:
    feature(lib, "add_alias")(body.alias, body.tag)
    return {"alias": body.alias, "tag": body.tag}


@router.get("/implications")
def implications(lib: Lib) -> dict[str, Any]:
    found = feature(lib, "implications")()
    return {"implications": [_fields(i, ("tag", "implied")) for i in found]}


@router.post("/implications")
def add_implication(body: ImplicationBody, lib: Lib) -> dict[str, Any]:
    feature(lib, "add_implication")(body.tag, body.implied)
    return {"tag": body.tag, "implied": body.implied}


@router.get("/translations")
def translations(lib: Lib) -> dict[str, Any]:
    found = feature(lib, "translations")()
    return {"translations": [_fields(t, ("tag", "lang", "name")) for t in found]}


@router.post("/translations")
def add_translation(body: TranslationBody, lib: Lib) -> dict[str, Any]:
    feature(lib, "add_translation")(body.tag, body.lang, body.name)
    return {"tag": body.tag, "lang": body.lang, "name": body.name}
