"""The `illudex` command.

Errors are mapped here, once for every command: an `IlludexError` (a problem the person
can act on) is printed as one line, exit status 1; anything else is a bug, printed as one
line that names the log file holding its traceback (ILLUDEX_DEBUG=1 raises it instead).
"""

from __future__ import annotations

import datetime
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import platformdirs
import typer
from rich.markup import escape
from rich.table import Table

from illudex import __version__
from illudex.cli import cluster, config, dataset, dupes, index, models, tags
from illudex.cli.common import (
    MAX_INT,
    JsonOption,
    LibraryOption,
    console,
    err_console,
    open_library,
    print_json,
)
from illudex.cli.scan import scan_command
from illudex.cli.search import search_command
from illudex.cli.serve import serve_command
from illudex.cli.watch import watch_command
from illudex.errors import IlludexError
from illudex.library import ENV_LIBRARY

HELP = "Index folders of illustrations where they lie: duplicates, tags, search, clusters."
ENV_DEBUG = "ILLUDEX_DEBUG"  # set: a bug raises with its traceback instead of one line
ERROR_EXIT = 1


class _Commands(typer.core.TyperGroup):
    """The top-level group: every command runs inside its `invoke`, so a project error
    is turned into its one line here, however the app is called (the executable, tests)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IlludexError as e:
            err_console.print(f"[red]error:[/red] {escape(str(e))}", highlight=False)
            raise typer.Exit(ERROR_EXIT) from None


def _new_app() -> typer.Typer:
    new = typer.Typer(name="illudex", no_args_is_help=True, add_completion=False, help=HELP,
                      cls=_Commands)
    new.callback()(_global_options)
    return new


def _global_options(ctx: typer.Context, library: LibraryOption = None) -> None:
    """Options that may also come before the command (as git users write them)."""
    if library is None:
        return
    # Every command reads --library with ILLUDEX_LIBRARY as its fallback: set that for
    # the command run now (its own --library still wins), and put it back afterwards.
    before = os.environ.get(ENV_LIBRARY)
    os.environ[ENV_LIBRARY] = str(library)

    def restore() -> None:
        if before is None:
            os.environ.pop(ENV_LIBRARY, None)
        else:
            os.environ[ENV_LIBRARY] = before

    ctx.call_on_close(restore)


app = _new_app()
SUBCOMMANDS: dict[str, Callable[..., object] | typer.Typer] = {
    "scan": scan_command, "dupes": dupes.app, "search": search_command, "tags": tags.app,
    "cluster": cluster.app, "tag": models.tag_command, "embed": models.embed_command,
    "quality": models.quality_command,
    "models": models.app, "serve": serve_command, "dataset": dataset.app,
    "watch": watch_command, "config": config.app, "index": index.app,
}


def _register(target: typer.Typer, name: str, command: Callable[..., object] | typer.Typer,
              ) -> None:
    if isinstance(command, typer.Typer):
        target.add_typer(command, name=name)
    else:
        target.command(name)(command)


for _name, _command in SUBCOMMANDS.items():
    _register(app, _name, _command)


@app.command("undo")
def undo(
    action: Annotated[int | None, typer.Argument(
        min=1, max=MAX_INT, help="Action id (default: the last).")] = None,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Reverse the last file action (or the one given) exactly."""
    with open_library(library) as lib:
        report = lib.history.undo(action)
    if json_out:
        print_json({"action": report.action_id, "kind": report.kind, "restored": report.restored,
                    "conflicts": report.conflicts})
        return
    if report.action_id is None:
        console.print("Nothing to undo.")
        return
    console.print(f"Undid action {report.action_id} ({report.summary}): "
                  f"{report.restored} operation(s) reversed.")
    for conflict in report.conflicts:
        console.print(f"[yellow]not undone:[/yellow] {conflict}")


@app.command("history")
def history(library: LibraryOption = None, json_out: JsonOption = False) -> None:
    """Recent file actions (for undo)."""
    with open_library(library) as lib:
        rows = lib.history.actions(limit=20)
    if json_out:
        print_json([{"id": r.id, "kind": r.kind, "summary": r.summary,
                     "created_at": r.created_at, "state": r.state} for r in rows])
        return
    table = Table("id", "kind", "what", "state")
    for r in rows:
        table.add_row(str(r.id), r.kind, r.summary, r.state)
    console.print(table)


@app.command("version")
def version() -> None:
    """Print the version."""
    console.print(__version__)


def main() -> None:
    # File names need not be UTF-8: show their odd bytes as escapes rather than crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        _app_for(sys.argv[1:])()
    except Exception as e:  # a bug (project errors end in _Commands): one line, not a traceback
        if os.environ.get(ENV_DEBUG):
            raise
        where = _log_bug(e)
        details = f"the details are in {where}" if where else f"{ENV_DEBUG}=1 shows where"
        err_console.print(f"[red]error:[/red] internal error ({type(e).__name__}: "
                          f"{escape(str(e))}); please report it ({escape(details)})",
                          highlight=False)
        sys.exit(ERROR_EXIT)


def bug_log() -> Path:
    """Where the CLI writes the traceback of a bug (the user's log folder)."""
    return Path(platformdirs.user_log_dir("illudex", appauthor=False)) / "errors.log"


def _log_bug(error: Exception) -> Path | None:
    """Append the bug's traceback to `bug_log()`; None when that cannot be written."""
    path = bug_log()
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(error))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as log:
            # The command's name only: its arguments may hold a token.
            log.write(f"--- {stamp} illudex {__version__} {command_name(sys.argv[1:])}\n{text}")
    except OSError:
        return None
    return path


GLOBAL_OPTIONS = ("--library", "-L")  # options taking a value, accepted before the command


def command_name(args: list[str]) -> str:
    """The command asked for, after any global options."""
    at = 0
    while at < len(args):
        if args[at] in GLOBAL_OPTIONS:
            at += 2
        elif args[at].startswith("--library="):
            at += 1
        else:
            return args[at]
    return ""


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command asked for, when there is one: Typer inspects every
    registered command's signature on each start, which is most of what a re-run with
    nothing to do costs. Help, and anything unknown, gets the whole app."""
    name = command_name(args)
    if name not in SUBCOMMANDS:
        return app
    single = _new_app()
    _register(single, name, SUBCOMMANDS[name])
    if not isinstance(SUBCOMMANDS[name], typer.Typer):
        # A lone command would become the app itself; a hidden sibling keeps `name`.
        single.command("version", hidden=True)(version)
    return single
