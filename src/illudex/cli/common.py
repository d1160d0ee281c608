"""What every command shares: the library option, output (tables or --json), progress."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from illudex.library import ENV_LIBRARY, Library, LibraryError

console = Console()
err_console = Console(stderr=True)

LibraryOption = Annotated[
    Path | None,
    typer.Option(
        "--library", "-L", envvar=ENV_LIBRARY, show_envvar=True,
        help="Library folder (catalog + indexes). Default: the user's data folder.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def open_library(path: Path | None) -> Library:
    try:
        return Library.open(path)
    except LibraryError as e:
        fail(str(e))
        raise  # unreachable: fail exits


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
def progress_bar(description: str, quiet: bool = False) -> Iterator[Callable[..., None]]:
    """A Rich progress bar on stderr; yields `update(done, total, *_)`."""
    if quiet or not err_console.is_terminal:
        yield lambda *args: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, *_: object) -> None:
            bar.update(task, completed=done, total=total)

        yield update


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
