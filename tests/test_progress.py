"""One progress type: the work reports `Progress(stage, done, total, current)`, the CLI
draws it and the web's jobs copy it, with no guessing of shapes. Real scans and real
duplicate searches over pictures drawn for the test."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from illudex.cli import common
from illudex.dupes.engine import find_relations
from illudex.dupes.features import extract
from illudex.imageio import decode
from illudex.library import Library
from illudex.progress import Progress, notify


def test_notify_calls_back_with_one_report_and_skips_none() -> None:
    seen: list[Progress] = []
    notify(seen.append, "scan", 2, 5, "a.png")
    notify(None, "scan", 3, 5)  # no callback: nothing to do, no error
    assert seen == [Progress("scan", 2, 5, "a.png")]
    with pytest.raises(AttributeError):  # frozen: a report is a value
        seen[0].done = 3  # type: ignore[misc]


def test_a_scan_reports_each_file_as_it_is_stored(library: Library, tmp_path: Path,
                                                 make_picture) -> None:
    art = tmp_path / "art"
    paths = {str(make_picture(art / f"{n}.png", seed=n)) for n in range(4)}
    seen: list[Progress] = []
    library.scan([art], progress=seen.append)
    assert [p.done for p in seen] == [1, 2, 3, 4]
    assert {p.stage for p in seen} == {"scan"} and {p.total for p in seen} == {4}
    assert {p.current for p in seen} == paths


def test_the_duplicate_engine_reports_its_verify_stage(tmp_path: Path, make_picture) -> None:
    items = []
    for n in range(3):  # a picture, its copy, and another
        path = make_picture(tmp_path / f"{n}.png", seed=0 if n < 2 else 5)
        items.append((n + 1, extract(decode(path).image)))
    seen: list[Progress] = []
    find_relations(items, progress=seen.append)
    assert seen and {p.stage for p in seen} == {"verify"}
    assert seen[-1].done == seen[-1].total


def draw(description: str | None, reports: list[Progress],
         monkeypatch: pytest.MonkeyPatch) -> str:
    """What the CLI's progress bar shows for `reports`, on a terminal-like console."""
    screen = io.StringIO()
    monkeypatch.setattr(common, "err_console",
                        Console(file=screen, force_terminal=True, width=120))
    with common.progress_bar(description) as update:
        for report in reports:
            update(report)
    return screen.getvalue()


def test_the_cli_bar_names_each_stage_when_given_no_description(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rich draws at its own pace: the last state is what is sure to be drawn.
    shown = draw(None, [Progress("features", 1, 1), Progress("choosing k", 3, None)],
                 monkeypatch)
    assert "Choosing k" in shown and "3/1" not in shown  # a fresh count per stage
    fixed = draw("Scanning", [Progress("scan", 7, 9, "x.png")], monkeypatch)
    assert "Scanning" in fixed and "7/9" in fixed and "Scan " not in fixed


def test_a_quiet_bar_takes_reports_and_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=screen, force_terminal=True))
    with common.progress_bar("Scanning", quiet=True) as update:
        update(Progress("scan", 1, 2))
    assert screen.getvalue() == ""
