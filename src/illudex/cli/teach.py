"""`illudex tags teach TAG --yes A --no B ...`: learn a tag from examples, review, apply."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from illudex.cli.common import JsonOption, LibraryOption, console, open_library, print_json
from illudex.cli.search import query_ids
from illudex.library import Library

if TYPE_CHECKING:  # numpy and scikit-learn load only when a tag is taught
    from illudex.learn.teach import Suggestion, TeachResult

DEFAULT_MIN_SCORE = 0.5  # illudex.learn.teach.DEFAULT_MIN_SCORE, without importing it

ExamplesOption = Annotated[list[str] | None, typer.Option(
    metavar="PICTURES",
    help="A picture path, folder, id or search query (repeatable).")]


def teach_command(
    tag: Annotated[str, typer.Argument(help="The tag to teach.")],
    yes: ExamplesOption = None,
    no: ExamplesOption = None,
    model: Annotated[str | None, typer.Option(
        "--embedding", help="Stored embedding to learn on (default: the best available).",
    )] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Write the tag (source learned:TAG, with its score); undoable.")] = False,
    min_score: Annotated[float, typer.Option(
        "--min", min=0.0, max=1.0, help="With --apply: the lowest score tagged.",
    )] = DEFAULT_MIN_SCORE,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Teach TAG from yes/no example pictures: shows what it would tag and what to label
    next (most uncertain first). People's TAG tags and removed learned ones count too."""
    with open_library(library) as lib:
        yes_ids, no_ids = _ids(lib, yes or []), _ids(lib, no or [])
        result, action = lib.models.teach(tag, yes_ids, no_ids, model=model,
                                          apply_min=min_score if apply else None)
    if json_out:
        print_json({**result.to_json(), "applied": _applied(result, action, apply, min_score)})
        return
    _show(result)
    if apply:
        console.print(f"Tagged {len(result.to_apply(min_score))} picture(s) {result.tag} "
                      f"(action {action}); `illudex undo` reverses it.", highlight=False)


def _ids(lib: Library, items: list[str]) -> list[int]:
    """Each item: an id, a catalogued file or folder, else a search query."""
    ids: set[int] = set()
    for item in items:
        if item.isdigit():
            ids.add(int(item))
        elif os.path.exists(item):
            ids.update(lib.image_ids([item]))
        else:
            ids.update(query_ids(lib, item))
    return sorted(ids)


def _applied(result: TeachResult, action: int | None, apply: bool, min_score: float,
             ) -> dict[str, object] | None:
    if not apply:
        return None
    return {"action": action, "images": len(result.to_apply(min_score)), "min": min_score}


def _show(result: TeachResult) -> None:
    cv = result.cross_validation
    console.print(
        f"Taught {result.tag!r} on {result.embedding} embeddings from {len(result.yes)} yes / "
        f"{len(result.no)} no; cross-validated precision {cv.precision:.2f}, recall "
        f"{cv.recall:.2f} ({cv.folds} folds)", highlight=False)
    for title, rows in (("Would tag (best first)", result.suggestions),
                        ("Label these next (most uncertain)", result.review)):
        console.print(_table(title, rows))


def _table(title: str, rows: list[Suggestion]) -> Table:
    table = Table("id", "score", "path", title=title)
    for s in rows:
        table.add_row(str(s.id), f"{s.score:.3f}", escape(s.path))
    return table
