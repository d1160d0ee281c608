"""`illudex search QUERY`: pictures matching a query of tags, metatags and similarity terms.

Also the shared helper `run_search` that turns query errors into a caret under the query
(exit 2) and similarity errors into what to run first; `illudex tags` and `illudex cluster`
use it to turn a query into picture ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from illudex.cli.common import (
    MAX_INT,
    JsonOption,
    LibraryOption,
    console,
    err_console,
    existing_path,
    fail,
    open_library,
    print_json,
)
from illudex.cli.scan import run_scan
from illudex.errors import NotFound
from illudex.library import Library, LibraryError

if TYPE_CHECKING:
    from illudex.search import SearchResult

QUERY_HELP = (
    "Tags (space = AND), -tag, a OR b, (groups), wild*cards; metatags width:>=1000 "
    "height:<800 ratio:1.5..2 size:>2mb format:png rating:general folder:/abs/dir path:*x* "
    "tags:0; sort:-size limit:N; similar:PATH_OR_ID~0.8 text:\"a red umbrella\"~0.25."
)
SIMILARITY_HINT = (
    "for search by picture with a model, run `illudex tag PATH`; for search by words, "
    "`illudex embed PATH`"
)


def search_command(
    query: Annotated[str, typer.Argument(metavar="QUERY", help=QUERY_HELP, show_default=False)],
    library: LibraryOption = None,
    json_out: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_INT, help="Results per page.")] = 50,
    offset: Annotated[int, typer.Option(min=0, max=MAX_INT, help="Skip this many results.")] = 0,
    in_paths: Annotated[list[Path] | None, typer.Option(
        "--in", parser=existing_path,
        help="Scan this folder first and search only in it (repeatable).",
    )] = None,
) -> None:
    """Find pictures: `illudex search "1girl -monochrome width:>=1000 sort:-size"`."""
    with open_library(library) as lib:
        if in_paths:
            run_scan(lib, in_paths, quiet=json_out)
            query = restrict_to_folders(query, in_paths)
        result = run_search(lib, query, limit=limit, offset=offset)
        rows = lib.images([image_id for image_id, _, _ in result.results])
    if json_out:
        data: dict[str, object] = {
            "results": [{"path": path, "id": image_id, "score": score}
                        for image_id, path, score in result.results],
            "total": result.total,
        }
        if result.warnings:
            data["warnings"] = list(result.warnings)
        print_json(data)
        return
    show_results(result, rows, offset)


def run_search(lib: Library, query: str, *, limit: int | None, offset: int = 0) -> SearchResult:
    """`lib.search`, with every way a query can fail turned into a message and exit code."""
    from illudex.search import QueryPlanError, QuerySyntaxError
    from illudex.search.similar import SimilarityError

    try:
        return lib.search(query, limit=limit, offset=offset)
    except QuerySyntaxError as e:
        show_syntax_error(e.query, e.position, e.reason)
        raise typer.Exit(2) from None
    except QueryPlanError as e:
        fail(f"cannot run this query: {e}", code=2)
    except (SimilarityError, LibraryError, NotFound) as e:  # NotFound: a path not scanned
        fail(f"{e}\n{SIMILARITY_HINT}")
    raise AssertionError("unreachable: fail exits")


def query_ids(lib: Library, query: str) -> list[int]:
    """Every picture id a query matches (no page limit)."""
    result = run_search(lib, query, limit=None)
    for warning in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    return [image_id for image_id, _, _ in result.results]


def show_syntax_error(query: str, position: int, reason: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(reason)} (at character {position + 1})",
                      highlight=False)
    # soft_wrap: a long query must not be folded, or the caret would point elsewhere
    err_console.print(f"  {query}", highlight=False, markup=False, soft_wrap=True)
    err_console.print(f"  {' ' * position}[red]^[/red]", highlight=False, soft_wrap=True)


def restrict_to_folders(query: str, folders: list[Path]) -> str:
    """The query, ANDed with `folder:` terms for these folders.

    A query whose top level is an OR is wrapped in parentheses first (AND binds tighter);
    such a query cannot hold sort:/limit:/similar: (those must be at the top level), so
    wrapping it is safe. A query that does not parse is left for the search to report.
    """
    from illudex.search import QuerySyntaxError, parse
    from illudex.search.query import Or

    terms = [f'folder:"{_quoted(str(folder.expanduser().resolve()))}"' for folder in folders]
    where = terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})"
    try:
        root = parse(query).root
    except QuerySyntaxError:
        return query
    body = f"({query})" if isinstance(root, Or) else query
    return f"{body} {where}".strip()


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def show_results(result: SearchResult, rows: dict, offset: int) -> None:
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if not result.results:
        console.print(f"No pictures match ({result.total} in all)." if result.total
                      else "No pictures match.")
        return
    has_scores = any(score is not None for _, _, score in result.results)
    table = Table("id", Column("path", overflow="fold"), "pixels", "size",
                  *(["score"] if has_scores else []))
    for image_id, path, score in result.results:
        row = rows.get(image_id)
        pixels = f"{row.width}×{row.height}" if row and row.width else ""
        size = _size(row.size) if row else ""
        extra = [f"{score:.3f}" if score is not None else ""] if has_scores else []
        table.add_row(str(image_id), escape(path), pixels, size, *extra)
    console.print(table)
    first, last = offset + 1, offset + len(result.results)
    more = f" (next page: --offset {last})" if last < result.total else ""
    console.print(f"{first}–{last} of {result.total} picture(s){more}.")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
