"""`illudex tags ...`: the tag vocabulary (list, find, show, aliases, implications,
translations, categories, import/export) and undoable batch edits on a query's pictures."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from illudex.cli.common import (
    MAX_INT,
    JsonOption,
    LibraryOption,
    confirm,
    console,
    fail,
    non_empty_path,
    open_library,
    paths_argument,
    print_json,
    progress_bar,
)
from illudex.cli.search import query_ids
from illudex.cli.teach import teach_command
from illudex.library import Library
from illudex.paths import sidecar_path

app = typer.Typer(
    no_args_is_help=True,
    help="The tag vocabulary (aliases, implications, translations) and batch tag edits.",
)

QueryArg = Annotated[str, typer.Argument(
    metavar="QUERY", help="A search query choosing the pictures (see `illudex search --help`).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would change.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
KindOption = Annotated[str | None, typer.Option(
    "--kind", help="tags, aliases, implications or translations (CSV files; a .json file "
                   "holds the whole vocabulary).",
)]
UNDO_HINT = "`illudex undo` reverses it"


# --- reading the vocabulary ---------------------------------------------------------


@app.command("list")
def list_command(
    category: Annotated[str | None, typer.Option(help="Only this category "
                                                      "(general, character, copyright, ...).")
                        ] = None,
    prefix: Annotated[str | None, typer.Option(help="Only tags starting with this.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_INT, help="At most this many.")] = 50,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Tags, most used first."""
    with open_library(library) as lib:
        tags = lib.tags.listing(prefix=prefix, category=category, limit=limit)
    if json_out:
        print_json([{"name": t.name, "category": t.category, "count": t.count} for t in tags])
        return
    if not tags:
        console.print("No tags yet: `illudex scan PATH` reads .txt captions, "
                      "`illudex tag PATH` tags pictures with a model.")
        return
    table = Table("tag", "category", "pictures")
    for tag in tags:
        table.add_row(escape(tag.name), tag.category, str(tag.count))
    console.print(table)


@app.command("find")
def find_command(
    text: Annotated[str, typer.Argument(help="A tag, alias or translation, typos allowed.")],
    limit: Annotated[int, typer.Option(min=1, max=MAX_INT, help="At most this many.")] = 10,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Find tags by name, alias or translation, forgiving typos."""
    with open_library(library) as lib:
        matches = lib.tags.find(text, limit=limit)
    if json_out:
        print_json([{"name": m.tag.name, "category": m.tag.category, "count": m.tag.count,
                     "matched": m.matched, "via": m.via, "reason": m.reason,
                     "distance": m.distance} for m in matches])
        return
    if not matches:
        console.print(f"No tag looks like {escape(text)!r}.")
        return
    table = Table("tag", "category", "pictures", "matched", "why")
    for m in matches:
        table.add_row(escape(m.tag.name), m.tag.category, str(m.tag.count), escape(m.matched),
                      _why(m.via, m.reason, m.distance))
    console.print(table)


def _why(via: str, reason: str, distance: int) -> str:
    how = {"exact": "exact", "prefix": "starts with", "substring": "contains"}.get(
        reason, f"typo ({distance} edit{'s' if distance != 1 else ''})")
    return how if via == "name" else f"{via}, {how}"


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A tag, alias or translation.")],
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Everything about one tag: aliases, implications both ways, translations, counts."""
    with open_library(library) as lib:
        detail = lib.tags.detail(name)
    if detail is None:
        fail(f"no tag named {name!r}: `illudex tags find {name}` lists close ones")
        return
    if json_out:
        print_json(asdict(detail))
        return
    tag = detail.tag
    table = Table(show_header=False, title=f"{tag.name} ({tag.category})", title_justify="left")
    table.add_row("pictures", str(tag.count))
    table.add_row("by source", ", ".join(f"{k}: {v}" for k, v in sorted(detail.sources.items()))
                  or "none")
    table.add_row("aliases", ", ".join(detail.aliases) or "none")
    table.add_row("implies", ", ".join(detail.implies) or "none")
    table.add_row("implied by", ", ".join(detail.implied_by) or "none")
    table.add_row("translations", ", ".join(f"{lang}: {n}" for lang, n in detail.translations)
                  or "none")
    console.print(table)


# --- editing the vocabulary ---------------------------------------------------------


@app.command("alias")
def alias_command(
    alias: Annotated[str, typer.Argument(help="The other name.")],
    tag: Annotated[str, typer.Argument(help="The tag it stands for.")],
    library: LibraryOption = None,
) -> None:
    """Make ALIAS another name for TAG (an existing tag ALIAS is merged into TAG)."""
    with open_library(library) as lib:
        action = lib.vocabulary.add_alias(alias, tag)
    if action is not None:
        console.print(f"{alias!r} was a tag: merged into {tag!r} (action {action}); "
                      f"{UNDO_HINT}.", highlight=False)
    else:
        console.print(f"{alias!r} now means {tag!r}; `illudex tags unalias {alias}` "
                      "takes it back.", highlight=False)


@app.command("unalias")
def unalias_command(
    alias: Annotated[str, typer.Argument(help="The alias to forget.")],
    library: LibraryOption = None,
) -> None:
    """Forget an alias."""
    with open_library(library) as lib:
        if not lib.vocabulary.remove_alias(alias):
            fail(f"no alias {alias!r}: `illudex tags show TAG` lists a tag's aliases")
    console.print(f"Alias {alias!r} removed.", highlight=False)


@app.command("imply")
def imply_command(
    tag: Annotated[str, typer.Argument(help="The tag that implies.")],
    implied: Annotated[str, typer.Argument(help="The tag it implies.")],
    library: LibraryOption = None,
) -> None:
    """Every picture tagged TAG is also IMPLIED (searches follow it at once)."""
    with open_library(library) as lib:
        lib.vocabulary.add_implication(tag, implied)
    console.print(f"{tag!r} implies {implied!r}. Searches for {implied!r} find {tag!r} now; "
                  f"`illudex tags imply-apply` writes the implied tags onto pictures; "
                  f"`illudex tags unimply {tag} {implied}` takes it back.", highlight=False)


@app.command("unimply")
def unimply_command(
    tag: Annotated[str, typer.Argument(help="The tag that implies.")],
    implied: Annotated[str, typer.Argument(help="The tag it implies.")],
    library: LibraryOption = None,
) -> None:
    """Forget that TAG implies IMPLIED."""
    with open_library(library) as lib:
        if not lib.vocabulary.remove_implication(tag, implied):
            fail(f"{tag!r} does not imply {implied!r} directly: "
                 f"`illudex tags show {tag}` lists its implications")
    console.print(f"{tag!r} no longer implies {implied!r}.", highlight=False)


@app.command("translate")
def translate_command(
    tag: Annotated[str, typer.Argument(help="The tag.")],
    lang: Annotated[str, typer.Argument(help="Language code: ja, zh, en, ...")],
    name: Annotated[str, typer.Argument(help="The tag's name in that language.")],
    library: LibraryOption = None,
) -> None:
    """Give TAG a name in another language (searchable like an alias)."""
    with open_library(library) as lib:
        lib.vocabulary.add_translation(tag, lang, name)
    console.print(f"{tag!r} is {name!r} in {lang}; `illudex tags untranslate {tag} {lang} "
                  f"{name}` takes it back.", highlight=False)


@app.command("untranslate")
def untranslate_command(
    tag: Annotated[str, typer.Argument(help="The tag.")],
    lang: Annotated[str, typer.Argument(help="Language code.")],
    name: Annotated[str, typer.Argument(help="The translated name to forget.")],
    library: LibraryOption = None,
) -> None:
    """Forget one translation of TAG."""
    with open_library(library) as lib:
        if not lib.vocabulary.remove_translation(tag, lang, name):
            fail(f"{tag!r} has no {lang} name {name!r}: `illudex tags show {tag}` lists them")
    console.print(f"Translation {name!r} ({lang}) of {tag!r} removed.", highlight=False)


@app.command("category")
def category_command(
    tag: Annotated[str, typer.Argument(help="The tag.")],
    category: Annotated[str, typer.Argument(
        help="general, character, copyright, artist, meta or rating.")],
    library: LibraryOption = None,
) -> None:
    """Set TAG's category."""
    with open_library(library) as lib:
        before = lib.tags.detail(tag)
        updated = lib.tags.set_category(tag, category)
    old = before.tag.category if before else "general"
    console.print(f"{updated.name!r} is now {updated.category} (was {old}; "
                  f"`illudex tags category {updated.name} {old}` sets it back).",
                  highlight=False)


# --- batch edits on pictures --------------------------------------------------------


@app.command("add")
def add_command(
    query: QueryArg,
    tag: Annotated[list[str], typer.Option("--tag", "-t", help="A tag to add (repeatable).")],
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add tags to every picture QUERY matches."""
    with open_library(library) as lib:
        ids = _pictures(lib, query)
        what = f"add {_tag_list(lib, tag)}"
        _edit(what, len(ids), dry_run, yes, json_out, lambda: lib.tags.add(ids, tag))


@app.command("remove")
def remove_command(
    query: QueryArg,
    tag: Annotated[list[str], typer.Option("--tag", "-t", help="A tag to remove (repeatable).")],
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Remove tags (from every source) from every picture QUERY matches."""
    with open_library(library) as lib:
        ids = _pictures(lib, query)
        what = f"remove {_tag_list(lib, tag)}"
        _edit(what, len(ids), dry_run, yes, json_out, lambda: lib.tags.remove(ids, tag))


@app.command("replace")
def replace_command(
    query: QueryArg,
    old: Annotated[str, typer.Argument(help="The tag to take off.")],
    new: Annotated[str, typer.Argument(help="The tag to put in its place.")],
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """On the pictures QUERY matches, tag OLD becomes NEW."""
    with open_library(library) as lib:
        ids = _pictures(lib, query)
        what = f"replace {_tag_list(lib, [old])} by {_tag_list(lib, [new])}"
        _edit(what, len(ids), dry_run, yes, json_out, lambda: lib.tags.replace(ids, old, new))


@app.command("merge")
def merge_command(
    keep: Annotated[str, typer.Argument(help="The tag that stays.")],
    gone: Annotated[str, typer.Argument(help="The tag merged into it (becomes an alias).")],
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Merge tag GONE into KEEP everywhere; GONE becomes an alias of KEEP."""
    with open_library(library) as lib:
        keep_tag, gone_tag = lib.tags.detail(keep), lib.tags.detail(gone)
        for name, found in ((keep, keep_tag), (gone, gone_tag)):
            if found is None:
                fail(f"no tag named {name!r}: `illudex tags find {name}` lists close ones")
        assert keep_tag is not None and gone_tag is not None
        what = f"merge {gone_tag.tag.name} into {keep_tag.tag.name}"
        _edit(what, gone_tag.tag.count, dry_run, yes, json_out,
              lambda: lib.tags.merge(keep, gone))


@app.command("imply-apply")
def imply_apply_command(
    query: Annotated[str | None, typer.Argument(
        help="Only the pictures this query matches (default: all).")] = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write implied tags onto pictures (searches follow implications without this)."""
    with open_library(library) as lib:
        ids = _pictures(lib, query) if query is not None else None
        count = len(ids) if ids is not None else len(lib.image_ids(lib.folders()))
        what = f"write implied tags ({len(lib.vocabulary.implications())} implication(s))"
        _edit(what, count, dry_run, yes, json_out, lambda: lib.tags.apply_implications(ids))


@app.command("write-txt")
def write_txt_command(
    query: QueryArg,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write the catalog tags of QUERY's pictures to their .txt captions (undoable)."""
    with open_library(library) as lib:
        ids = _pictures(lib, query)
        existing = sum(os.path.exists(sidecar_path(row.path)) for row in lib.images(ids).values())
        what = f"write caption files ({existing} replaced, {len(ids) - existing} new)"

        def write() -> int | None:
            with progress_bar("Writing captions", json_out) as update:
                return lib.tags.write_sidecars(ids, progress=update)

        _edit(what, len(ids), dry_run, yes, json_out, write)


def _pictures(lib: Library, query: str) -> list[int]:
    ids = query_ids(lib, query)
    if not ids:
        console.print(f"No pictures match {query!r}: nothing to do.", highlight=False)
        raise typer.Exit(0)
    return ids


def _tag_list(lib: Library, names: list[str]) -> str:
    """Names as they will be stored: `kitty → cat` for an alias, `(new)` for unknown."""
    shown = []
    for name in names:
        detail = lib.tags.detail(name)
        if detail is None:
            shown.append(f"{name} (new)")
        elif detail.tag.name != name:
            shown.append(f"{name} → {detail.tag.name}")
        else:
            shown.append(name)
    return ", ".join(shown)


def _edit(what: str, count: int, dry_run: bool, yes: bool, json_out: bool,
          run: Callable[[], int | None]) -> None:
    """Show (dry run) or confirm and make an edit on `count` pictures; say how to undo."""
    if dry_run:
        if json_out:
            print_json({"dry_run": True, "edit": what, "images": count})
        else:
            console.print(f"Dry run: would {what} on {count} picture(s).", highlight=False)
        return
    if not confirm(f"{what.capitalize()} on {count} picture(s)?", yes):
        raise typer.Exit(1)
    action = run()
    if json_out:
        print_json({"dry_run": False, "edit": what, "images": count, "action": action})
    elif action is None:
        console.print(f"Nothing to change: {what} would change no picture.", highlight=False)
    else:
        console.print(f"Done: {what} on {count} picture(s) (action {action}); {UNDO_HINT}.",
                      highlight=False)


# --- import and export --------------------------------------------------------------


@app.command("import")
def import_command(
    file: Annotated[Path, paths_argument("A CSV (booru antecedent_name,consequent_name "
                                         "form accepted) or a .json export.")],
    kind: KindOption = None,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Import tags, aliases, implications or translations."""
    with open_library(library) as lib:
        reports = lib.vocabulary.import_file(file, kind)
    if json_out:
        print_json({k: asdict(r) for k, r in reports.items()})
        return
    for name, report in reports.items():
        skipped = f", {report.skipped} inactive skipped" if report.skipped else ""
        console.print(f"{name}: {report.applied} imported{skipped}, "
                      f"{len(report.errors)} refused.", highlight=False)
        for error in report.errors[:20]:
            console.print(f"  [yellow]refused[/yellow] {escape(error)}", highlight=False)
        if len(report.errors) > 20:
            console.print(f"  … and {len(report.errors) - 20} more (use --json for all)")


@app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(parser=non_empty_path,
                                         help="A .csv (with --kind) or a .json file.")],
    kind: KindOption = None,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Export the vocabulary (one kind as CSV, or everything as JSON)."""
    with open_library(library) as lib:
        counts = lib.vocabulary.export_file(file, kind)
    if json_out:
        print_json({"file": str(file), "rows": counts})
        return
    console.print(f"Wrote {file}: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + ".",
                  highlight=False)


# --- teaching a tag (illudex.learn) -------------------------------------------------

app.command("teach")(teach_command)
