"""What happens to a new picture after it is indexed: tag it, embed it, and check it
against the collection for duplicates (a notice for each new duplicate group).

Every step can be redone safely: tagging and embedding skip pictures a model already did
(`model_runs`), and duplicate notices are keyed by the pictures' contents. So the watcher
simply redoes the last batch after a crash; `checked_until` only saves the work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from illudex.catalog.images import last_scanned, scanned_since
from illudex.library import Library
from illudex.watch.notices import NoticeLog, WatchState

log = logging.getLogger("illudex.watch")


@dataclass(frozen=True)
class FollowUps:
    tag: str | None = None  # a tagger's name, or None
    embed: str | None = None  # a CLIP model's name, or None
    dupes: bool = False
    device: str = "auto"


@dataclass
class FollowUpReport:
    tagged: int = 0
    embedded: int = 0
    notices: int = 0


class FollowUpRunner:
    def __init__(self, lib: Library, followups: FollowUps) -> None:
        self.lib = lib
        self.followups = followups
        self.notices = NoticeLog(lib.dir)
        self.state = WatchState(lib.dir)

    def start(self) -> None:
        """On a first run, what is catalogued already is not news."""
        if self.state.checked_until() is None:
            self.state.set_checked_until(last_scanned(self.lib.conn))

    def run(self, paths: Sequence[str]) -> FollowUpReport:
        """Follow-ups for the pictures under `paths` (folders just scanned)."""
        report = FollowUpReport()
        f = self.followups
        if f.tag:
            summary = self.lib.models.tag(paths, model=f.tag, device=f.device)
            report.tagged = summary.done
            _log_errors("tag", summary.errors)
        if f.embed:
            summary = self.lib.models.embed(paths, model=f.embed, device=f.device)
            report.embedded = summary.done
            _log_errors("embed", summary.errors)
        if f.dupes:
            report.notices = self._check_dupes()
        return report

    def _check_dupes(self) -> int:
        since = self.state.checked_until() or 0.0
        fresh = scanned_since(self.lib.conn, since)
        if not fresh:
            return 0
        new_ids = {i for i, _ in fresh}
        found = self.lib.dupes.find(self.lib.folders())
        written = 0
        for group in found.groups:
            new = [f for f in group.files
                   if f.id in new_ids and not self.notices.announced(f.id)]
            if not new:
                continue
            # By the pictures (ids follow files through moves), not by content: a second
            # copy of the same bytes is news too.
            key = "duplicate:" + ",".join(str(i) for i in sorted(f.id for f in group.files))
            notice = {"kind": "duplicate", "relation": group.relation,
                      "new": [f.path for f in new], "new_ids": [f.id for f in new],
                      "files": [f.path for f in group.files],
                      "ids": [f.id for f in group.files], "keep": group.keep.path}
            if self.notices.add(key, notice):
                written += 1
                log.info("new duplicate: %s (like %s)", ", ".join(notice["new"]),
                         ", ".join(p for p in notice["files"] if p not in notice["new"]))
        self.state.set_checked_until(max(t for _, t in fresh))
        return written


def _log_errors(step: str, errors: Sequence[tuple[str, str]]) -> None:
    for path, reason in errors[:20]:
        log.warning("%s: %s: %s", step, path, reason)
