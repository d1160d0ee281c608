"""`illudex config get|set KEY [VALUE]`: library settings a person chooses.

Only `vectors` is set here (where search-by-picture vectors live); the other entries of
settings.json are what tagging and embedding remember, written by those commands.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from illudex.cli.common import JsonOption, LibraryOption, console, open_library, print_json

app = typer.Typer(no_args_is_help=True, help="Library settings (the vector backend).")

KEYS = ("vectors",)
KeyArgument = Annotated[str, typer.Argument(help=f"One of: {', '.join(KEYS)}.")]


def _check_key(key: str) -> None:
    if key not in KEYS:
        raise typer.BadParameter(f"unknown setting {key!r}: one of {', '.join(KEYS)}")


@app.command("set")
def set_command(
    key: KeyArgument,
    value: Annotated[str, typer.Argument(
        help="vectors: embedded | milvus://HOST:19530[/collection] | milvus-lite:PATH.db "
             "(optional ?index=HNSW|IVF_FLAT|IVF_SQ8|IVF_PQ)")],
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Choose a setting. To move existing vectors, `illudex index migrate --to` does both."""
    from illudex.index.backend import SETTING, parse_backend

    _check_key(key)
    with open_library(library) as lib:
        backend = parse_backend(value, lib.dir)
        lib.settings.set(SETTING, value.strip() or "embedded")
    if json_out:
        print_json({"key": key, "value": value, "backend": backend.describe()})
    else:
        console.print(f"vectors: {escape(backend.describe())} (filled from the catalog at "
                      "the first search; `illudex index migrate --to` does it now)")


@app.command("get")
def get_command(key: KeyArgument, library: LibraryOption = None,
                json_out: JsonOption = False) -> None:
    """Show a setting."""
    from illudex.index.backend import SETTING, parse_backend

    _check_key(key)
    with open_library(library) as lib:
        value = lib.settings.get(SETTING) or "embedded"
        backend = parse_backend(value, lib.dir)
    if json_out:
        print_json({"key": key, "value": value, "backend": backend.describe()})
    else:
        console.print(escape(value))
