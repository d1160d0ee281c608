"""The one progress report every long piece of work gives: scan, tag, embed, quality,
dupes, cluster, dataset builds, file moves. The CLI draws it as a bar, the web's jobs
stream it as events; both read the same four fields, so neither guesses a shape.

    def show(p: Progress) -> None:
        print(f"{p.stage}: {p.done}/{p.total or '?'} {p.current}")

    lib.scan(paths, progress=show)

A callback may raise to stop the work (the web's jobs do, to cancel): work reports
between items, so what was finished is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    stage: str  # what runs now: "scan", "tag", "embed", "verify", "features", "pictures" ...
    done: int  # items of this stage finished so far
    total: int | None  # items this stage will do; None where not known in advance
    current: str = ""  # the item just finished (a path), where there is one


ProgressCallback = Callable[[Progress], None]


def notify(progress: ProgressCallback | None, stage: str, done: int, total: int | None,
           current: str = "") -> None:
    """Call `progress` (when there is one) with a `Progress`."""
    if progress is not None:
        progress(Progress(stage, done, total, current))
