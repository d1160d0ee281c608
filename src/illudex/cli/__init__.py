"""The `illudex` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from illudex import __version__
from illudex.cli import cluster, dataset, dupes, models, tags
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
from illudex.library import ENV_LIBRARY

HELP = "Index folders of illustrations where they lie: duplicates, tags, search, clusters."


def _new_app() -> typer.Typer:
    new = typer.Typer(name="illudex", no_args_is_help=True, add_completion=False, help=HELP)
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
    "watch": watch_command,
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
        report = lib.undo(action)
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
        rows = lib.history()
    if json_out:
        print_json([dict(r) for r in rows])
        return
    table = Table("id", "kind", "what", "state")
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], r["summary"], r["state"])
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
    except Exception as e:  # a bug: one line, not a traceback (ILLUDEX_DEBUG=1 shows it)
        if os.environ.get("ILLUDEX_DEBUG"):
            raise
        err_console.print(f"[red]error:[/red] internal error ({type(e).__name__}: "
                          f"{escape(str(e))}); please report it (ILLUDEX_DEBUG=1 shows where)",
                          highlight=False)
        sys.exit(1)


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
