"""Resolving duplicate groups: the non-keepers go to the trash or to a folder, with their
same-name `.txt` caption files, through the journal (so `undo` brings them back)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from illudex.dupes.finder import DupesReport
from illudex.journal import Journal, JournalError
from illudex.paths import sidecar_path
from illudex.picturefiles import IMAGE_SUFFIXES


@dataclass(frozen=True)
class PlannedMove:
    src: str
    dst: str | None  # None: to the trash
    keeper: str


@dataclass
class ActionResult:
    action_id: int | None
    planned: list[PlannedMove]
    done: list[tuple[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action_id,
            "dry_run": self.dry_run,
            "planned": [{"from": m.src, "to": m.dst or "trash", "keep": m.keeper}
                        for m in self.planned],
            "done": [{"from": a, "to": b} for a, b in self.done],
            "failed": self.failed,
        }


def plan(report: DupesReport, move_to: str | None) -> list[PlannedMove]:
    """What would be moved where: every non-keeper of every group."""
    moves = []
    for group in report.groups:
        for other in group.others:
            dst = os.path.join(move_to, os.path.basename(other.path)) if move_to else None
            moves.append(PlannedMove(other.path, dst, group.keep.path))
    return moves


def apply(
    journal: Journal,
    moves: list[PlannedMove],
    progress: Callable[[int, int], None] | None = None,
) -> ActionResult:
    kind = "dupes-move" if any(m.dst for m in moves) else "dupes-trash"
    result = ActionResult(action_id=None, planned=moves)
    with journal.action(kind, f"{len(moves)} duplicate file(s)") as action_id:
        result.action_id = action_id
        for n, move in enumerate(moves, start=1):
            try:
                result.done.append((move.src, _move_with_sidecar(journal, action_id, move)))
            except (OSError, JournalError) as e:
                result.failed.append({"path": move.src, "error": str(e)})
            if progress:
                progress(n, len(moves))
    return result


def _move_with_sidecar(journal: Journal, action_id: int, move: PlannedMove) -> str:
    txt = sidecar_path(move.src)
    if move.dst is None:
        final = journal.trash(action_id, move.src)
    else:
        final = journal.move(action_id, move.src, move.dst)
    if os.path.exists(txt) and not _caption_shared(move.src):
        journal.move(action_id, txt, sidecar_path(final))
    return final


def _caption_shared(src: str) -> bool:
    """Another picture beside `src` has its name stem (a.png, a.jpg): the caption file is
    that one's too, and stays with it."""
    stem = os.path.splitext(src)[0]
    return any(
        os.path.exists(stem + ext) and stem + ext != src
        for suffix in IMAGE_SUFFIXES for ext in (suffix, suffix.upper())
    )
