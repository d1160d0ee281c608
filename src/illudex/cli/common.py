"""What every command shares: the library option, output (tables or --json), progress."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar

from illudex.catalog.db import is_disk_full
from illudex.library import ENV_LIBRARY, Library
from illudex.progress import Progress, ProgressCallback

console = Console()
err_console = Console(stderr=True)

MAX_INT = 2**63 - 1  # ids, counts and limits end up as SQLite integers


def _path(text: str, must_exist: bool) -> Path:
    """A path given on the command line: never empty (an unset shell variable would
    otherwise mean the current folder), and, for inputs, one that exists."""
    if isinstance(text, Path):
        return text
    if not str(text).strip():
        raise typer.BadParameter("an empty path (an unset variable?): name a file or folder")
    if must_exist and not os.path.lexists(os.path.expanduser(text)):
        raise typer.BadParameter(f"{text}: no such file or folder")
    return Path(text)


def existing_path(text: str) -> Path:
    return _path(text, must_exist=True)


def non_empty_path(text: str) -> Path:
    return _path(text, must_exist=False)


LibraryOption = Annotated[
    Path | None,
    typer.Option(
        "--library", "-L", envvar=ENV_LIBRARY, show_envvar=True, parser=non_empty_path,
        help="Library folder (catalog + indexes). Default: the user's data folder. "
             "Also accepted before the command: `illudex --library DIR scan ...`.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def paths_argument(help_text: str) -> Any:
    """Files or folders that must exist (a file counts as the folder of one picture)."""
    return typer.Argument(help=help_text, parser=existing_path, show_default=False)


def check_fraction(value: float, name: str, *, above_zero: bool = False) -> float:
    """A number between 0 and 1 (typer's range check lets nan through)."""
    if math.isnan(value) or not 0.0 <= value <= 1.0 or (above_zero and value == 0.0):
        low = "above 0" if above_zero else "from 0"
        fail(f"{name} must be a number {low} up to 1, not {value}", code=2)
    return value


@contextlib.contextmanager
def open_library(path: Path | None) -> Iterator[Library]:
    """The library for a command (`with open_library(p) as lib:`), closed after. A full
    disk ends the command with one line, not a traceback: every catalog change is a
    transaction and every file operation is journalled, so nothing is left half-done.
    (A library that cannot be opened raises LibraryError: `illudex.cli` prints it.)"""
    with Library.open(path) as lib:
        try:
            yield lib
        except (sqlite3.Error, OSError) as e:
            if not is_disk_full(e):
                raise
            where = getattr(e, "filename", None) or f"the library at {lib.dir}"
            fail(f"disk full: no space left for {where}. Finished work is kept, nothing was "
                 "left half-done: free some space and run the command again")


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1)
    # A file name that is not UTF-8 holds lone surrogates: write them as JSON \u escapes
    # (valid JSON; Python's json.loads + os.fsencode give back the exact bytes).
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    sys.stdout.write(text + "\n")


@contextlib.contextmanager
def progress_bar(description: str | None, quiet: bool = False) -> Iterator[ProgressCallback]:
    """The CLI's one progress display: a Rich bar on stderr, fed the `Progress` reports of
    the work. With no `description`, the bar names each stage as it comes (clustering,
    dataset builds: work in several stages). Nothing is drawn when quiet or piped."""
    if quiet or not err_console.is_terminal:
        yield _ignore
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Bar(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(progress: Progress) -> None:
            if progress.stage not in tasks:  # a new stage: a fresh count and clock
                for task in tasks.values():
                    bar.remove_task(task)
                tasks.clear()
                tasks[progress.stage] = bar.add_task(
                    description or progress.stage.capitalize(), total=progress.total)
            # (a new task, not update(total=None): Rich reads None there as "unchanged")
            bar.update(tasks[progress.stage], completed=progress.done, total=progress.total)

        yield update


def _ignore(_: Progress) -> None:
    """The progress callback of a quiet command."""


def confirm(question: str, yes: bool) -> bool:
    """Ask on a terminal; scripts must say --yes."""
    if yes:
        return True
    if not sys.stdin.isatty():
        fail("not a terminal: add --yes to confirm, or --dry-run to see what would happen")
    return typer.confirm(question, default=False, err=True)


class DefaultGroup(typer.core.TyperGroup):
    """A group whose first argument, when it is no subcommand, goes to a default one:
    `illudex dupes DIR` runs `dupes find DIR`, `illudex dupes mark A B` runs `mark`."""

    default_command = "find"

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
