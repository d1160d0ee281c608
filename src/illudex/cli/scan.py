"""`illudex scan PATH...`: index folders where they lie (incremental)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from illudex.cli.common import (
    MAX_INT,
    JsonOption,
    LibraryOption,
    console,
    fail,
    open_library,
    paths_argument,
    print_json,
    progress_bar,
)
from illudex.cli.engine import EngineOption, RayAddressOption, use_engine
from illudex.library import Library
from illudex.scan.engine import ScanReport


def scan_command(
    paths: Annotated[list[Path], paths_argument("Folders (or single pictures) to index.")],
    library: LibraryOption = None,
    json_out: JsonOption = False,
    max_pixels: Annotated[int | None, typer.Option(
        min=1, max=MAX_INT, help="Refuse pictures with more pixels (decompression bombs).")
    ] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=1024, help="Decode processes (default: CPUs).")] = None,
    engine: EngineOption = "local",
    ray_address: RayAddressOption = None,
) -> None:
    """Index folders: new, changed, moved and deleted files are noticed; unchanged ones skipped."""
    with open_library(library) as lib:
        use_engine(lib, engine, ray_address)
        if max_pixels:
            lib.max_pixels = max_pixels
        lib.workers = workers
        report = run_scan(lib, paths, quiet=json_out)
    if json_out:
        print_json(report.as_json())
    else:
        show_scan(report)


def run_scan(lib: Library, paths: list[Path], quiet: bool = False) -> ScanReport:
    try:
        with progress_bar("Scanning", quiet) as update:
            report = lib.scan(paths, progress=update)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted.[/yellow] Finished files are saved; "
                      "run the same command again to resume.")
        raise typer.Exit(130) from None
    # A PATH that cannot be scanned at all is the command's failure, not a skipped file.
    roots = {os.path.abspath(os.path.expanduser(p)) for p in paths}
    for error in report.errors:
        if error["path"] in roots:
            fail(f"{error['path']}: {error['error']}")
    return report


def show_scan(report: ScanReport) -> None:
    table = Table(title="Scan", show_header=False, title_justify="left")
    for name in ("added", "updated", "moved", "removed", "unchanged"):
        table.add_row(name, str(getattr(report, name)))
    table.add_row("errors", str(len(report.errors)))
    console.print(table)
    if report.errors:
        errors = Table("file", "problem", title="Files skipped", title_justify="left")
        for error in report.errors[:50]:
            errors.add_row(error["path"], error["error"])
        console.print(errors)
        if len(report.errors) > 50:
            console.print(f"… and {len(report.errors) - 50} more (use --json for all)")
