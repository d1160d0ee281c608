"""`illudex index migrate --to BACKEND`: move search vectors to another backend."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from illudex.cli.common import JsonOption, LibraryOption, console, open_library, print_json

app = typer.Typer(no_args_is_help=True, help="The vector index (embedded or Milvus).")


@app.command("migrate")
def migrate_command(
    to: Annotated[str, typer.Option(
        "--to", help="embedded | milvus://HOST:19530[/collection] | milvus-lite:PATH.db")],
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Copy every model's vectors (from the catalog) to BACKEND, then search uses it."""
    from illudex.index.backend import SETTING, migrate, parse_backend

    def done(model: str, count: int) -> None:
        if not json_out:
            console.print(f"{escape(model)}: {count} vectors")

    with open_library(library) as lib:
        backend = parse_backend(to, lib.dir)
        copied = migrate(lib.dir, lib.conn, to, on_model=done)
        lib.settings.set(SETTING, to.strip())
    if json_out:
        print_json({"backend": backend.describe(), "models": copied})
    else:
        console.print(f"search vectors now in {escape(backend.describe())}")
