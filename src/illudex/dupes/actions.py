"""Resolving duplicate groups: the non-keepers go to the trash or to a folder, with their
same-name `.txt` caption files, through the journal (so `undo` brings them back).

Before a group's files move, each file and its keeper are checked against what was
compared (`illudex.filecheck`): still there, the same content, a plain file inside a
library folder, and not one file under two names. When the keeper fails, its whole group
is skipped; when a file to move fails, that file stays. Each skip says why. A full disk
stops the action where it is, with a clear reason.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field

from illudex.catalog.db import is_disk_full
from illudex.catalog.folders import list_folders
from illudex.catalog.images import ImageRow
from illudex.dupes.finder import DupesReport
from illudex.errors import IlludexError
from illudex.filecheck import same_file, why_not
from illudex.journal import Journal, JournalError, NotNoted
from illudex.paths import sidecar_path
from illudex.picturefiles import IMAGE_SUFFIXES
from illudex.progress import ProgressCallback, notify


@dataclass(frozen=True)
class PlannedMove:
    src: str
    dst: str | None  # None: to the trash
    keeper: str
    # The catalog rows as compared: checked against the disk right before the move.
    src_row: ImageRow | None = None
    keeper_row: ImageRow | None = None


@dataclass
class ActionResult:
    action_id: int | None
    planned: list[PlannedMove]
    done: list[tuple[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = False
    stopped: str | None = None  # why the action stopped early (a full disk), if it did

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action_id,
            "dry_run": self.dry_run,
            "planned": [{"from": m.src, "to": m.dst or "trash", "keep": m.keeper}
                        for m in self.planned],
            "done": [{"from": a, "to": b} for a, b in self.done],
            "failed": self.failed,
            "stopped": self.stopped,
        }


class _Stop(IlludexError):
    """A full disk: no further move can succeed."""


def plan(report: DupesReport, move_to: str | None) -> list[PlannedMove]:
    """What would be moved where: every non-keeper of every group."""
    moves = []
    for group in report.groups:
        for other in group.others:
            dst = os.path.join(move_to, os.path.basename(other.path)) if move_to else None
            moves.append(PlannedMove(other.path, dst, group.keep.path, other, group.keep))
    return moves


def apply(
    journal: Journal,
    moves: list[PlannedMove],
    progress: ProgressCallback | None = None,
) -> ActionResult:
    kind = "dupes-move" if any(m.dst for m in moves) else "dupes-trash"
    result = ActionResult(action_id=None, planned=moves)
    folders = list_folders(journal.conn)
    groups = _by_keeper(moves)
    n = 0
    try:
        with journal.action(kind, f"{len(moves)} duplicate file(s)") as action_id:
            result.action_id = action_id
            for group in groups:
                _apply_group(journal, action_id, group, folders, result)
                n += len(group)
                notify(progress, "move", n, len(moves))
    except _Stop:
        pass
    except sqlite3.Error as e:  # the journal itself could not be written
        if not is_disk_full(e):
            raise
        result.stopped = _stopped(e, result, moves)
    return result


def _by_keeper(moves: list[PlannedMove]) -> list[list[PlannedMove]]:
    groups: dict[str, list[PlannedMove]] = {}
    for move in moves:
        groups.setdefault(move.keeper, []).append(move)
    return list(groups.values())


def _apply_group(
    journal: Journal, action_id: int, group: list[PlannedMove], folders: list[str],
    result: ActionResult,
) -> None:
    keeper = _keeper_problem(group[0], folders)
    if keeper:
        result.failed += [{"path": m.src, "error": f"group skipped: {keeper}"} for m in group]
        return
    for move in group:
        problem = _move_problem(move, folders)
        if problem:
            result.failed.append({"path": move.src, "error": f"not moved: {problem}"})
            continue
        try:
            result.done.append((move.src, _move_with_sidecar(journal, action_id, move)))
        except NotNoted as e:
            result.done.append((move.src, e.dst))
            _stop_if_full(e.__cause__, e, result)
        except (OSError, JournalError) as e:
            result.failed.append({"path": move.src, "error": str(e)})
            _stop_if_full(e, e, result)


def _keeper_problem(move: PlannedMove, folders: list[str]) -> str | None:
    """Why the group's keeper is not the picture that was compared (None: it is)."""
    if move.keeper_row is None:
        return None
    problem = why_not(move.keeper_row, folders)
    return f"the picture to keep, {problem}" if problem else None


def _move_problem(move: PlannedMove, folders: list[str]) -> str | None:
    """Why this file may not move now (None: it may)."""
    if move.src_row is not None:
        problem = why_not(move.src_row, folders)
        if problem:
            return problem
    if same_file(move.src, move.keeper):
        return f"{move.src} and {move.keeper} are one file under two names"
    return None


def _stop_if_full(error: BaseException | None, shown: BaseException, result: ActionResult
                  ) -> None:
    if error is not None and is_disk_full(error):
        result.stopped = _stopped(shown, result, result.planned)
        raise _Stop


def _stopped(error: BaseException, result: ActionResult, moves: list[PlannedMove]) -> str:
    if not result.done:
        return f"disk full ({error}): nothing was moved"
    return (f"disk full ({error}): {len(result.done)} of {len(moves)} file(s) moved before "
            "it stopped (`illudex undo` puts them back); the rest were not touched")


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
