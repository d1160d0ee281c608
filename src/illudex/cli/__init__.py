"""The `illudex` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from illudex import __version__
from illudex.cli import cluster, dupes, models, tags
from illudex.cli.common import JsonOption, LibraryOption, console, open_library, print_json
from illudex.cli.scan import scan_command
from illudex.cli.search import search_command
from illudex.cli.serve import serve_command

app = typer.Typer(
    name="illudex", no_args_is_help=True, add_completion=False,
    help="Index folders of illustrations where they lie: duplicates, tags, search, clusters.",
)
app.command("scan")(scan_command)
app.add_typer(dupes.app, name="dupes")
app.command("search")(search_command)
app.add_typer(tags.app, name="tags")
app.add_typer(cluster.app, name="cluster")
app.command("tag")(models.tag_command)
app.command("embed")(models.embed_command)
app.add_typer(models.app, name="models")
app.command("serve")(serve_command)


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
    # File names need not be UTF-8: show their odd bytes as escapes rather than crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    app()
