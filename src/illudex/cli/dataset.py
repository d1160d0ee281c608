"""`illudex dataset build SPEC.toml`: a training set from a query, folders or a booru
search through a pipeline of steps; `illudex dataset steps` lists the steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from illudex.cli.common import (
    JsonOption,
    LibraryOption,
    console,
    err_console,
    existing_path,
    fail,
    open_library,
    print_json,
    progress_bar,
)
from illudex.cli.engine import EngineOption, RayAddressOption, use_engine

app = typer.Typer(no_args_is_help=True,
                  help="Build training sets (kohya, textual inversion, Hugging Face …).")


@app.command("build")
def build_command(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC.toml", parser=existing_path,
                                              help="The dataset spec (TOML).")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Say what would be kept and dropped; export nothing.")] = False,
    engine: EngineOption = "local",
    ray_address: RayAddressOption = None,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Run the spec's source through its steps and export the result, with report.html.
    With --engine ray, the source's scan and the model steps' inference run on Ray
    (upscale runs here)."""
    from illudex.dataset.pipeline import build
    from illudex.dataset.spec import load_spec

    with open_library(library) as lib:
        use_engine(lib, engine, ray_address)
        try:
            spec = load_spec(spec_file)
            with progress_bar(None, quiet=json_out) as update:  # scan, then pictures
                report = build(lib, spec, dry_run=dry_run, progress=update)
        except KeyboardInterrupt:
            fail("interrupted: finished pictures are kept in the cache; run the same "
                 "command again to go on from there", code=130)
            return
    data = report.as_json()
    if json_out:
        print_json(data)
        return
    verb = "would export" if dry_run else "exported"
    console.print(f"{verb} {data['exported']} picture(s) to {escape(data['out'])}"
                  + (f" ({data['pending']} not processed yet)" if dry_run else ""))
    for step, n in data["dropped"].items():
        console.print(f"  dropped by {escape(step)}: {n}")
    for error in data["errors"]:
        err_console.print(f"[yellow]error:[/yellow] {escape(error['path'])}: "
                          f"{escape(error['error'])}", highlight=False)
    if data["report"]:
        console.print(f"report: {escape(data['report'])}")


@app.command("steps")
def steps_command(json_out: JsonOption = False) -> None:
    """Every step with its parameters and defaults."""
    from illudex.dataset.registry import describe_steps

    steps = describe_steps()
    if json_out:
        print_json(steps)
        return
    table = Table("step", "kind", "parameters (default)", "what it does")
    for step in steps:
        params = "\n".join(f"{p['name']} = {p['default']!r}" for p in step["params"])
        table.add_row(step["name"], step["kind"], escape(params), escape(step["help"]))
    console.print(table)
