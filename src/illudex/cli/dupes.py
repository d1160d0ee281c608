"""`illudex dupes PATH...`: exact and near duplicates, alternates, keepers, safe resolution."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from illudex.cli.common import (
    DefaultGroup,
    JsonOption,
    LibraryOption,
    check_fraction,
    confirm,
    console,
    err_console,
    fail,
    non_empty_path,
    open_library,
    paths_argument,
    print_json,
    progress_bar,
)
from illudex.cli.scan import run_scan
from illudex.dupes.actions import ActionResult, PlannedMove
from illudex.dupes.finder import DupesOptions, DupesReport
from illudex.dupes.keeper import CRITERIA_HELP, DEFAULT_PREFERENCE, validate
from illudex.dupes.relations import DEFAULT_THRESHOLD

app = typer.Typer(cls=DefaultGroup, no_args_is_help=True,
                  help="Find duplicates (default) or record decisions about pairs.")


@app.command("find")
def find(
    paths: Annotated[list[Path], paths_argument("Folders or pictures (scanned first if needed).")],
    library: LibraryOption = None,
    json_out: JsonOption = False,
    threshold: Annotated[float, typer.Option(
        min=0.0, max=1.0, callback=lambda v: check_fraction(v, "--threshold", above_zero=True),
        help="Similarity (0..1) above which pictures count as near duplicates."
    )] = DEFAULT_THRESHOLD,
    exact_only: Annotated[bool, typer.Option(help="Only byte-identical copies.")] = False,
    prefer: Annotated[str, typer.Option(
        help="Keeper preference, best first: " + ", ".join(CRITERIA_HELP)
    )] = ",".join(DEFAULT_PREFERENCE),
    trash: Annotated[bool, typer.Option(help="Move non-keepers to the trash.")] = False,
    move_to: Annotated[Path | None, typer.Option(
        parser=non_empty_path, help="Move non-keepers to this folder.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show what --trash/--move-to would do.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Find duplicate groups in PATHS, with a suggested keeper for each."""
    preference = tuple(p.strip() for p in prefer.split(",") if p.strip())
    validate(preference)  # InvalidInput: `illudex.cli` prints it
    if trash and move_to:
        fail("choose one of --trash and --move-to")
    options = DupesOptions(threshold=threshold, preference=preference, include_near=not exact_only)
    with open_library(library) as lib:
        scan_report = run_scan(lib, paths, quiet=json_out)
        with progress_bar("Comparing", json_out) as update:
            report = lib.dupes.find(paths, options, progress=update)
        report.errors = scan_report.errors
        if not (trash or move_to):
            print_json(report.as_json()) if json_out else show_report(report)
            return
        moves = lib.dupes.plan(report, move_to)
        if dry_run or not moves:
            result = ActionResult(action_id=None, planned=moves, dry_run=True)
            if not json_out:
                show_plan(report, moves)
                return
        else:
            if not json_out:
                show_report(report)
            where = f"to {move_to}" if move_to else "to the trash"
            if not confirm(f"Move {len(moves)} file(s) {where}?", yes):
                raise typer.Exit(1)
            with progress_bar("Moving", json_out) as update:
                result = lib.dupes.resolve(moves, progress=update)
    if json_out:
        print_json({**report.as_json(), **result.as_json()})
    else:
        show_action(result)
    if result.failed or result.stopped:
        raise typer.Exit(1)  # a move that did not happen is a failure, even beside others


@app.command("keep")
def keep(
    picture: Annotated[Path, typer.Argument(help="The copy to keep.")],
    forget: Annotated[bool, typer.Option(
        "--forget", help="Let the finder suggest the keeper again.")] = False,
    library: LibraryOption = None,
) -> None:
    """Remember PICTURE as the keeper of its duplicate group (by content: survives renames)."""
    with open_library(library) as lib:
        if forget:
            done = lib.dupes.forget_keeper(picture)
            console.print(f"Forgot the keeper choice for {picture}" if done
                          else f"{picture} was not a chosen keeper")
            return
        lib.dupes.choose_keeper(lib.image_at(picture).id)
    console.print(f"Keeper from now on: {picture}")


@app.command("mark")
def mark(
    a: Annotated[Path, paths_argument("A picture.")],
    b: Annotated[Path, paths_argument("Another picture.")],
    not_duplicate: Annotated[bool, typer.Option("--not-duplicate")] = False,
    alternate: Annotated[bool, typer.Option("--alternate")] = False,
    duplicate: Annotated[bool, typer.Option("--duplicate")] = False,
    library: LibraryOption = None,
) -> None:
    """Remember that A and B are duplicates, alternates, or unrelated."""
    chosen = [name for name, on in (("not_duplicate", not_duplicate), ("alternate", alternate),
                                    ("duplicate", duplicate)) if on]
    if len(chosen) != 1:
        fail("say exactly one of --not-duplicate, --alternate, --duplicate")
    with open_library(library) as lib:
        lib.dupes.mark(a, b, chosen[0])
    console.print(f"Marked as {chosen[0].replace('_', ' ')}: {a} ↔ {b}")


def show_report(report: DupesReport) -> None:
    if not report.groups:
        console.print("No duplicates found.")
    for n, group in enumerate(report.groups, start=1):
        table = Table("", "file", "size", "pixels", title_justify="left",
                      title=f"Group {n} · {group.relation} · keep: {group.reason}")
        for f in group.files:
            mark = "[green]keep[/green]" if f.id == group.keep.id else ""
            table.add_row(mark, f.path, f"{f.size / 1024:.0f} KB", f"{f.width}×{f.height}")
        console.print(table)
    if report.alternates:
        table = Table("picture", "alternate", title="Alternates (not duplicates)",
                      title_justify="left")
        for a, b in report.alternates:
            table.add_row(a.path, b.path)
        console.print(table)
    extra = sum(len(g.files) - 1 for g in report.groups)
    console.print(f"{len(report.groups)} group(s), {extra} file(s) could go; "
                  f"{len(report.alternates)} alternate pair(s); {len(report.errors)} error(s).")


def show_plan(report: DupesReport, moves: list[PlannedMove]) -> None:
    """Dry run: every group's keeper, where each other copy would go, and why. Lines are
    not wrapped, so that a path can be copied whole."""
    by_keeper: dict[str, list[PlannedMove]] = {}
    for m in moves:
        by_keeper.setdefault(m.keeper, []).append(m)
    say = functools.partial(console.print, soft_wrap=True)
    say("[bold]Dry run: nothing was moved.[/bold]")
    for n, group in enumerate(report.groups, start=1):
        say(f"Group {n} · {group.relation} · keep [green]{escape(group.keep.path)}[/green]")
        say(f"  why: {escape(group.reason)}")
        for m in by_keeper.get(group.keep.path, []):
            say(f"  {escape(m.src)} → {escape(m.dst or 'trash')}")
    size = {f.path: f.size for g in report.groups for f in g.files}
    total = sum(size.get(m.src, 0) for m in moves)
    say(f"{len(moves)} file(s) from {len(report.groups)} group(s) would move "
        f"({total / 1024 / 1024:.1f} MB); `illudex dupes keep FILE` changes a keeper.")


def show_action(result: ActionResult) -> None:
    if result.dry_run:
        table = Table("would move", "to", "keeping", title="Dry run: nothing was moved",
                      title_justify="left")
        for m in result.planned:
            table.add_row(m.src, m.dst or "trash", m.keeper)
        console.print(table)
        return
    if result.done or not result.stopped:
        console.print(f"Moved {len(result.done)} file(s) (action {result.action_id}); "
                      "`illudex undo` puts them back.")
    for failure in result.failed:
        console.print(f"[red]failed[/red] {failure['path']}: {failure['error']}")
    if result.stopped:
        err_console.print(f"[red]error:[/red] {result.stopped}", highlight=False)


__all__ = ["PlannedMove", "app"]
