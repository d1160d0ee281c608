"""Duplicate review: groups with a suggested keeper, decisions, resolution and undo.

Every file operation goes through the Library (and so through its journal): resolving a
group moves the non-keepers to the trash (or a folder) as one undoable action.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from illudex.dupes.finder import DupeGroup, DupesReport
from illudex.library import Library
from illudex.web.deps import (
    Lib,
    ServerState,
    State,
    checked_folder,
    image_json,
    rows_or_404,
)
from illudex.web.state import DupesSession, plan_id

router = APIRouter(prefix="/api", tags=["duplicates"])


class ResolveBody(BaseModel):
    keep: int
    remove: list[int] = Field(min_length=1, max_length=1000)
    move_to: str | None = None


class MarkBody(BaseModel):
    a: int
    b: int
    relation: Literal["duplicate", "alternate", "not_duplicate"]


class KeeperBody(BaseModel):
    keep: int


class PairBody(BaseModel):
    a: int
    b: int


class ApplyBody(BaseModel):
    plan: str
    move_to: str | None = None
    skip: list[int] = Field(default_factory=list, max_length=100_000)  # groups left out


def session(lib: Library, state: ServerState, refresh: bool = False) -> DupesSession:
    return state.dupes.get(lambda: lib.dupes.find(lib.folders()), refresh=refresh)


@router.get("/dupes")
def dupes(lib: Lib, state: State, refresh: bool = False) -> dict[str, Any]:
    """The duplicate groups of the library folders (computed once, then on `refresh`)."""
    s = session(lib, state, refresh)
    ids = [f.id for g in s.report.groups for f in g.files]
    ids += [r.id for pair in s.report.alternates for r in pair]
    rows = lib.images(ids)
    touched = s.touched()

    def files(group: DupeGroup) -> list[dict[str, Any]]:
        return [image_json(rows.get(f.id, f)) for f in group.files]

    return {
        "made_at": s.made_at,
        "token": lib.history.change_token(),
        "groups": [{"index": n, "relation": g.relation, "reason": g.reason, "keep": g.keep.id,
                    "files": files(g), "touched": n in touched}
                   for n, g in enumerate(s.report.groups)],
        "alternates": [[image_json(rows.get(a.id, a)), image_json(rows.get(b.id, b))]
                       for a, b in s.report.alternates],
    }


@router.get("/images/{image_id}/dupes")
def dupes_of(image_id: int, lib: Lib, state: State) -> dict[str, Any]:
    """The groups and alternates a picture belongs to."""
    rows_or_404(lib, [image_id])
    s = session(lib, state)
    groups = [s.report.groups[n] for n in s.groups_of(image_id)]
    alternates = [b if a.id == image_id else a for a, b in s.report.alternates
                  if image_id in (a.id, b.id)]
    return {
        "duplicates": [{"relation": g.relation, "keep": g.keep.id, "reason": g.reason,
                        "files": [image_json(f) for f in g.files if f.id != image_id]}
                       for g in groups],
        "alternates": [image_json(r) for r in alternates],
    }


@router.post("/dupes/resolve")
def resolve(body: ResolveBody, lib: Lib, state: State) -> dict[str, Any]:
    """Keep one picture of a group; move the others (to the trash by default)."""
    if body.keep in body.remove:
        raise HTTPException(400, "the picture to keep is also in the list to remove")
    s = session(lib, state)
    group_index = s.group_holding([body.keep, *body.remove])
    if group_index is None:
        raise HTTPException(409, "these pictures are not one duplicate group of the report "
                                 "under review: reload the duplicates")
    rows_or_404(lib, [body.keep, *body.remove])
    # The rows as they were compared: the move checks the disk still holds them.
    compared = {f.id: f for f in s.report.groups[group_index].files}
    group = DupeGroup(relation=s.report.groups[group_index].relation,
                      files=[compared[i] for i in [body.keep, *body.remove]],
                      keep=compared[body.keep], reason="chosen in review")
    move_to = _move_to(body.move_to, state)
    moves = lib.dupes.plan(DupesReport(groups=[group]), move_to)
    result = lib.dupes.resolve(moves)
    if result.action_id is not None:
        s.actions[result.action_id] = {group_index}
    state.catalog_changed()
    return {**result.as_json(), "group": group_index, "token": lib.history.change_token()}


@router.post("/dupes/mark")
def mark(body: MarkBody, lib: Lib, state: State) -> dict[str, Any]:
    """Remember that two pictures are duplicates, alternates, or unrelated. For two
    pictures of different duplicate groups (an alternate pair is shown between their
    keepers) the word is on the groups: every picture of one against every one of
    the other, so that no other copy brings the pair back."""
    rows = rows_or_404(lib, [body.a, body.b])
    s = state.dupes.current()
    pairs = _decided_pairs(s, body.a, body.b)
    members = lib.images(sorted({i for p in pairs for i in p})) | rows
    for x, y in pairs:
        if members[x].digest != members[y].digest:
            lib.dupes.mark(members[x].path, members[y].path, body.relation)  # InvalidInput: 400
    if s is not None:
        group_index = s.group_holding([body.a, body.b])
        if group_index is not None:
            s.marked[(min(body.a, body.b), max(body.a, body.b))] = group_index
    return {"marked": body.relation, "a": body.a, "b": body.b, "token": lib.history.change_token()}


@router.post("/dupes/keeper")
def keeper(body: KeeperBody, lib: Lib, state: State) -> dict[str, Any]:
    """Make a picture the keeper of its duplicate group from now on (remembered by
    content, like a mark); the report under review shows it at once."""
    rows_or_404(lib, [body.keep])
    s = state.dupes.current()
    index = s.group_holding([body.keep]) if s is not None else None
    group = s.report.groups[index] if s is not None and index is not None else None
    lib.dupes.choose_keeper(body.keep, [f.id for f in group.files] if group else [])
    if group is not None:
        group.keep = next(f for f in group.files if f.id == body.keep)
        group.reason = "chosen by you"
    return {"keep": body.keep, "group": index}


@router.post("/dupes/unmark")
def unmark(body: PairBody, lib: Lib, state: State) -> dict[str, Any]:
    """Forget a decision about two pictures (undo of a mark)."""
    rows = rows_or_404(lib, [body.a, body.b])
    s = state.dupes.current()
    pairs = _decided_pairs(s, body.a, body.b)
    members = lib.images(sorted({i for p in pairs for i in p})) | rows
    forgot = [lib.dupes.forget(members[x].path, members[y].path) for x, y in pairs]
    if s is not None:
        s.marked.pop((min(body.a, body.b), max(body.a, body.b)), None)
    return {"forgotten": any(forgot), "token": lib.history.change_token()}


def _decided_pairs(s: DupesSession | None, a: int, b: int) -> list[tuple[int, int]]:
    """The pairs a decision on a and b covers: a x b's groups when they are apart."""
    if s is None or s.group_holding([a, b]) is not None:
        return [(a, b)]

    def members(image_id: int) -> list[int]:
        groups = s.groups_of(image_id)
        return [f.id for f in s.report.groups[groups[0]].files] if groups else [image_id]

    return [(x, y) for x in members(a) for y in members(b) if x != y]


@router.get("/dupes/align")
def align(a: int, b: int, lib: Lib) -> dict[str, Any]:
    """Where two copies show the same content: a box in each frame (fractions), for a
    difference view that a border or a crop does not light up everywhere."""
    rows_or_404(lib, [a, b])
    alignment = lib.dupes.align(a, b)
    if alignment is None:
        raise HTTPException(404, "these pictures have no duplicate features: scan them again")
    return alignment.as_json()


@router.get("/dupes/plan")
def plan(lib: Lib, state: State, move_to: str | None = None) -> dict[str, Any]:
    """What "apply all suggestions" would do: shown before it is done."""
    moves, groups = _suggested_moves(lib, state, move_to)
    ids = [f.id for _, g in groups for f in g.files]
    listed = [{"from": m.src, "to": m.dst or "trash", "keep": m.keeper} for m in moves]
    rows = lib.images(ids)
    # Every group as the summary shows it: the keeper, what goes, and why.
    review = [{"index": n, "relation": g.relation, "reason": g.reason,
               "keep": image_json(rows.get(g.keep.id, g.keep)),
               "remove": [image_json(rows.get(f.id, f)) for f in g.others],
               "bytes": sum(rows.get(f.id, f).size for f in g.others)}
              for n, g in groups]
    return {"plan": plan_id(listed), "moves": listed, "files": len(moves),
            "groups": len({m.keeper for m in moves}), "review": review,
            "bytes": sum(g["bytes"] for g in review)}


@router.post("/dupes/apply")
def apply_all(body: ApplyBody, lib: Lib, state: State) -> dict[str, Any]:
    """Apply every suggestion shown by /dupes/plan, if nothing changed since."""
    moves, groups = _suggested_moves(lib, state, body.move_to)
    listed = [{"from": m.src, "to": m.dst or "trash", "keep": m.keeper} for m in moves]
    if plan_id(listed) != body.plan:
        raise HTTPException(409, "the plan changed since it was shown: look at it again")
    skipped = set(body.skip)
    left_out = {f.path for n, g in groups if n in skipped for f in g.others}
    moves = [m for m in moves if m.src not in left_out]
    if not moves:
        return {"action": None, "done": [], "failed": [], "planned": [],
                "token": lib.history.change_token()}
    result = lib.dupes.resolve(moves)
    if result.action_id is not None:
        session(lib, state).actions[result.action_id] = {n for n, _ in groups
                                                         if n not in skipped}
    state.catalog_changed()
    return {**result.as_json(), "token": lib.history.change_token()}


def _suggested_moves(lib: Library, state: ServerState, move_to: str | None) -> tuple[
    list[Any], list[tuple[int, DupeGroup]]
]:
    s = session(lib, state)
    ids = [f.id for g in s.report.groups for f in g.files]
    current = lib.images(ids)

    def still_there(group: DupeGroup) -> bool:
        return all(f.id in current and current[f.id].path == f.path
                   and current[f.id].folder_id is not None for f in group.files)

    groups = s.untouched_groups(still_there)
    report = DupesReport(groups=[g for _, g in groups])
    return lib.dupes.plan(report, _move_to(move_to, state)), groups


def _move_to(text: str | None, state: ServerState) -> str | None:
    if not text:
        return None
    return checked_folder(text, state.library_dir, must_exist=False)
