"""Tags: the vocabulary with counts, autocomplete (aliases and translations shown), aliases,
implications, translations, whole-tag edits (rename, merge, delete, category) and batch
edits on chosen pictures, all undoable.

A change that would alter pictures' tags (or what they match) or overwrite an entry is
answered 409 with the number of pictures and what it replaces, until the request says
`"confirm": true`; the UI asks in between. Edits can also rewrite the pictures' `.txt`
captions (`"captions": true`), a journalled write of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from illudex.library import Library
from illudex.web.deps import Lib, State, rows_or_404

if TYPE_CHECKING:
    from illudex.tags.lookup import TagMatch
    from illudex.tags.vocabulary import Tag

router = APIRouter(prefix="/api/tags", tags=["tags"])
MAX_BATCH = 200_000


class BatchBody(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=MAX_BATCH)
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)
    captions: bool = False  # also write the pictures' tags to their .txt captions


class UndoEditBody(BaseModel):
    edit: int  # what /batch returned: a journal action (or a tag edit id)


Name = Field(min_length=1, max_length=200)


class AliasBody(BaseModel):
    alias: str = Name
    tag: str = Name
    confirm: bool = False


class ImplicationBody(BaseModel):
    tag: str = Name
    implied: str = Name
    confirm: bool = False


class AliasKey(BaseModel):
    alias: str = Name


class TagChangeBody(BaseModel):
    """Rename (`new`), merge into (`into`) or delete one tag; `captions` rewrites the .txt
    captions of its pictures afterwards."""

    name: str = Name
    new: str | None = Field(default=None, min_length=1, max_length=200)
    into: str | None = Field(default=None, min_length=1, max_length=200)
    confirm: bool = False
    captions: bool = False


class CategoryBody(BaseModel):
    name: str = Name
    category: str = Field(min_length=1, max_length=20)


class TranslationBody(BaseModel):
    tag: str = Field(min_length=1, max_length=200)
    lang: str = Field(min_length=2, max_length=20)
    name: str = Field(min_length=1, max_length=200)


def _tag_json(tag: Tag) -> dict[str, Any]:
    return {"name": tag.name, "category": tag.category, "count": tag.count}


def _match_json(match: TagMatch) -> dict[str, Any]:
    return {**_tag_json(match.tag), "reason": match.reason, "matched": match.matched,
            "via": match.via}


@router.get("")
def tags(
    lib: Lib, prefix: str | None = None, contains: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """Tags with how many pictures hold each, most used first; `contains` filters by any
    part of the name, `prefix` by its start (aliases resolved)."""
    if contains and contains.strip():
        found = lib.tags.listing(contains=contains.strip(), limit=limit)
    else:
        found = lib.tags.listing(prefix=prefix or None, limit=limit)
    return {"tags": [_tag_json(t) for t in found]}


@router.get("/complete")
def complete(
    lib: Lib, q: str, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> dict[str, Any]:
    """Tags for typed text: by name, alias, translation, or a near spelling."""
    if not q.strip():
        return {"matches": []}
    return {"matches": [_match_json(m) for m in lib.tags.find(q, limit=limit)]}


@router.post("/batch")
def batch(body: BatchBody, lib: Lib) -> dict[str, Any]:
    """Add and remove tags on pictures; each change is one undoable edit."""
    if not body.add and not body.remove and not body.captions:
        raise HTTPException(400, "name tags to add or remove")
    rows_or_404(lib, body.ids)
    edits = []
    if body.add:
        edits.append(lib.tags.add(body.ids, body.add))
    if body.remove:
        edits.append(lib.tags.remove(body.ids, body.remove))
    out = {"edits": [e for e in edits if e is not None], "images": len(body.ids)}
    return {**out, **_captions(lib, body.ids, body.captions)}


def _captions(lib: Library, ids: list[int], wanted: bool) -> dict[str, Any]:
    """Write the pictures' tags to their .txt captions when asked; say what happened."""
    if not wanted or not ids:
        return {"captions": 0, "captions_action": None}
    action = lib.tags.write_sidecars(ids)
    written = 0 if action is None else lib.history.count_operations(action)  # one per file
    return {"captions": written, "captions_action": action}


def _ask_first(what: str, pictures: int, replaces: str | None) -> JSONResponse:
    """409: the change needs a confirmation, with what it would do."""
    parts = [f"{pictures} picture{'s' if pictures != 1 else ''}' tags would change"
             if pictures else "", f"it replaces {replaces}" if replaces else ""]
    message = f"{what}: {'; '.join(p for p in parts if p)}. Send confirm to go ahead."
    return JSONResponse({"error": message, "pictures": pictures, "replaces": replaces,
                         "confirm": True}, status_code=409)


@router.post("/undo")
def undo_edit(body: UndoEditBody, lib: Lib) -> dict[str, Any]:
    """Reverse a tag edit made by /batch."""
    recent = {a.id: a.kind for a in lib.history.actions(500)}
    if recent.get(body.edit) != "tag-edit":
        raise HTTPException(404, f"no recent tag edit {body.edit} to undo")
    report = lib.history.undo(body.edit)
    if report.action_id is None or report.conflicts:
        raise HTTPException(409, "; ".join(report.conflicts) or f"nothing to undo for {body.edit}")
    return {"edit": body.edit, "undone": True, "summary": report.summary}


@router.get("/aliases")
def aliases(lib: Lib) -> dict[str, Any]:
    return {"aliases": [{"alias": alias, "tag": tag}
                        for alias, tag in lib.vocabulary.aliases()]}


@router.post("/aliases", response_model=None)
def add_alias(body: AliasBody, lib: Lib, state: State) -> dict[str, Any] | JSONResponse:
    """Add (or repoint) an alias; the target must be a known tag."""
    impact = lib.vocabulary.alias_impact(body.alias, body.tag)  # unknown target: 400
    if (impact.pictures or impact.replaces) and not body.confirm:
        return _ask_first(f"alias {body.alias} → {body.tag}", impact.pictures, impact.replaces)
    action = lib.vocabulary.add_alias(body.alias, body.tag)
    state.catalog_changed()
    return {"alias": body.alias, "tag": body.tag, "action": action,
            "pictures": impact.pictures, "replaced": impact.replaces}


@router.post("/aliases/delete")
def delete_alias(body: AliasKey, lib: Lib) -> dict[str, Any]:
    if not lib.vocabulary.remove_alias(body.alias):
        raise HTTPException(404, f"no alias {body.alias!r}")
    return {"alias": body.alias, "deleted": True}


@router.get("/implications")
def implications(lib: Lib) -> dict[str, Any]:
    return {"implications": [{"tag": tag, "implied": implied}
                             for tag, implied in lib.vocabulary.implications()]}


@router.post("/implications", response_model=None)
def add_implication(body: ImplicationBody, lib: Lib) -> dict[str, Any] | JSONResponse:
    """Add an implication between two known tags."""
    impact = lib.vocabulary.implication_impact(body.tag, body.implied)  # unknown tag: 400
    if impact.pictures and not body.confirm:
        return _ask_first(f"{body.tag} implies {body.implied}", impact.pictures, None)
    lib.vocabulary.add_implication(body.tag, body.implied)
    return {"tag": body.tag, "implied": body.implied, "pictures": impact.pictures}


@router.post("/implications/delete")
def delete_implication(body: ImplicationBody, lib: Lib) -> dict[str, Any]:
    if not lib.vocabulary.remove_implication(body.tag, body.implied):
        raise HTTPException(404, f"no implication {body.tag} → {body.implied}")
    return {"tag": body.tag, "implied": body.implied, "deleted": True}


@router.get("/translations")
def translations(lib: Lib) -> dict[str, Any]:
    return {"translations": [{"tag": tag, "lang": lang, "name": name}
                             for tag, lang, name in lib.vocabulary.translations()]}


@router.post("/translations")
def add_translation(body: TranslationBody, lib: Lib) -> dict[str, Any]:
    if lib.tags.detail(body.tag) is None:
        raise HTTPException(400, f"no tag named {body.tag!r}: translations are of known tags")
    lib.vocabulary.add_translation(body.tag, body.lang, body.name)
    return {"tag": body.tag, "lang": body.lang, "name": body.name}


@router.post("/translations/delete")
def delete_translation(body: TranslationBody, lib: Lib) -> dict[str, Any]:
    if not lib.vocabulary.remove_translation(body.tag, body.lang, body.name):
        raise HTTPException(404, f"no translation {body.lang}:{body.name} of {body.tag}")
    return {"tag": body.tag, "lang": body.lang, "name": body.name, "deleted": True}


@router.post("/change", response_model=None)
def change_tag(body: TagChangeBody, lib: Lib, state: State) -> dict[str, Any] | JSONResponse:
    """Rename a tag (`new`), merge it into another (`into`), or delete it (neither)."""
    if body.new and body.into:
        raise HTTPException(400, "rename (new) or merge (into), not both")
    if lib.tags.detail(body.name) is None:
        raise HTTPException(404, f"no tag named {body.name!r}")
    if body.into and lib.tags.detail(body.into) is None:
        raise HTTPException(400, f"no tag named {body.into!r} to merge into")
    ids = lib.tags.pictures_with(body.name)
    what = (f"rename {body.name} to {body.new}" if body.new else
            f"merge {body.name} into {body.into}" if body.into else f"delete tag {body.name}")
    if ids and not body.confirm:
        return _ask_first(what, len(ids), None)
    if body.new:
        action = lib.tags.rename(body.name, body.new)
    elif body.into:
        action = lib.tags.merge(body.into, body.name)
    else:
        action = lib.tags.delete(body.name)
    state.catalog_changed()
    return {"action": action, "summary": what, "pictures": len(ids),
            **_captions(lib, ids, body.captions)}


@router.post("/category")
def category(body: CategoryBody, lib: Lib) -> dict[str, Any]:
    tag = lib.tags.set_category(body.name, body.category)
    return {"name": tag.name, "category": tag.category, "count": tag.count}
