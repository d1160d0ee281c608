"""The `illudex` command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from illudex import __version__
from illudex.cli import dupes
from illudex.cli.common import JsonOption, LibraryOption, console, open_library, print_json
from illudex.cli.scan import scan_command

app = typer.Typer(
    name="illudex", no_args_is_help=True, add_completion=False,
    help="Index folders of illustrations where they lie: duplicates, tags, search, clusters.",
)
app.command("scan")(scan_command)
app.add_typer(dupes.app, name="dupes")


@app.command("undo")
def undo(
    action: Annotated[int | None, typer.Argument(help="Action id (default: the last).")] = None,
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
    app()
