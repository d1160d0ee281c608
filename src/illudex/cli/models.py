"""`illudex tag`, `illudex embed`, `illudex quality` and `illudex models`: the model layer
from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from illudex.cli.common import (
    JsonOption,
    LibraryOption,
    check_fraction,
    console,
    fail,
    open_library,
    paths_argument,
    print_json,
    progress_bar,
)
from illudex.cli.engine import EngineOption, RayAddressOption, use_engine
from illudex.cli.scan import run_scan

if TYPE_CHECKING:
    from illudex.analysers.runner import RunSummary
    from illudex.analysers.wd_tagger import TagResult
    from illudex.library import Library

app = typer.Typer(no_args_is_help=True, help="Models: list, download, info.")

ModelOption = Annotated[str | None, typer.Option(
    "--model", "-m", help="Model name (see `illudex models list`) or a local folder/file.")]
DeviceOption = Annotated[str, typer.Option(help="auto, cpu or cuda.")]


def tag_command(
    paths: Annotated[list[Path], paths_argument("Folders or pictures (scanned first if needed).")],
    model: ModelOption = None,
    device: DeviceOption = "auto",
    general: Annotated[float, typer.Option(
        callback=lambda v: check_fraction(v, "--general"), help="General tag threshold.")] = 0.35,
    character: Annotated[float, typer.Option(
        callback=lambda v: check_fraction(v, "--character"), help="Character tag threshold.")
    ] = 0.85,
    mcut: Annotated[bool, typer.Option(help="MCut: choose thresholds per picture.")] = False,
    batch: Annotated[int | None, typer.Option(
        min=1, max=4096, help="Batch size (default from the model).")]
    = None,
    rerun: Annotated[bool, typer.Option(help="Re-tag pictures this model already did.")] = False,
    write_txt: Annotated[bool, typer.Option(help="Write same-name .txt caption files.")] = False,
    existing: Annotated[str, typer.Option(
        help="For .txt files that exist: merge (keep yours, add new), replace, or skip.")]
    = "merge",
    underscores: Annotated[bool, typer.Option(help="long_hair rather than long hair.")] = False,
    no_escape: Annotated[bool, typer.Option(help="Do not write ( ) as \\( \\).")] = False,
    trigger: Annotated[list[str] | None, typer.Option(help="Trigger word(s) written first.")]
    = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Tags never written.")] = None,
    engine: EngineOption = "local",
    ray_address: RayAddressOption = None,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Tag pictures with a WD tagger: booru tags + an embedding per picture."""
    from illudex.analysers.wd_tagger import TagOptions
    from illudex.tags.captions import POLICIES, CaptionOptions

    if existing not in POLICIES:
        fail(f"--existing must be one of {', '.join(POLICIES)}")
    check_model_name(model)
    options = TagOptions(general_threshold=general, character_threshold=character,
                         general_mcut=mcut, character_mcut=mcut, batch_size=batch, rerun=rerun)
    results: list[TagResult] = []
    with open_library(library) as lib:
        use_engine(lib, engine, ray_address)
        run_scan(lib, paths, quiet=json_out)
        with progress_bar("Tagging", json_out) as update:
            summary = lib.models.tag(paths, model=model, options=options, device=device,
                                     progress=update, on_result=results.append)
        if write_txt and results:
            caption = CaptionOptions(spaces=not underscores, escape_parens=not no_escape,
                                     trigger_words=tuple(trigger or ()),
                                     exclude=tuple(exclude or ()))
            action = lib.tags.write_captions(results, caption, existing)
            if not json_out:
                console.print(f"Wrote captions (action {action}); `illudex undo` restores them.")
    if json_out:
        print_json({"images": [r.to_json() for r in results],
                    "skipped": summary.skipped, "errors": _errors(summary)})
    else:
        _show_summary("Tagged", summary)


def embed_command(
    paths: Annotated[list[Path], paths_argument("Folders or pictures (scanned first if needed).")],
    model: ModelOption = None,
    device: DeviceOption = "auto",
    engine: EngineOption = "local",
    ray_address: RayAddressOption = None,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store image embeddings: CLIP (for search by words, `text:"..."`), or any ONNX model
    folder with an illudex.json (for search by picture, clustering, teaching tags)."""
    _run_model(paths, model, library, json_out, ("Embedding", "Embedded"),
               lambda lib, update: lib.models.embed(paths, model=model, device=device,
                                                    progress=update), (engine, ray_address))


def quality_command(
    paths: Annotated[list[Path], paths_argument("Folders or pictures (scanned first if needed).")],
    model: ModelOption = None,
    device: DeviceOption = "auto",
    rerun: Annotated[bool, typer.Option(help="Score again pictures this model scored.")]
    = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store an aesthetic quality score (0..1) per picture, for `quality:>=0.7` and
    `sort:-quality` in search and the `min-quality` dataset step."""
    _run_model(paths, model, library, json_out, ("Scoring", "Scored"),
               lambda lib, update: lib.models.score_quality(paths, model=model, device=device,
                                                            rerun=rerun, progress=update))


@app.command("list")
def list_command(json_out: JsonOption = False) -> None:
    """Named models, and whether each is on this machine."""
    from illudex.models.hub import status
    from illudex.models.registry import list_models

    infos = list_models()
    here = {info.name: status(info.name).available for info in infos}
    if json_out:
        print_json([{"name": i.name, "kind": i.kind, "repo_id": i.repo_id, "default": i.default,
                     "available": here[i.name], "description": i.description} for i in infos])
        return
    table = Table("name", "kind", "repo", "here", "about")
    for info in infos:
        name = f"{info.name} (default)" if info.default else info.name
        table.add_row(name, info.kind, info.repo_id, "yes" if here[info.name] else "no",
                      info.description)
    console.print(table)


@app.command("download")
def download_command(
    name: Annotated[str, typer.Argument(help="Model name (see `illudex models list`).")],
) -> None:
    """Download a model into the Hugging Face cache (needs a network connection)."""
    from illudex.models.hub import download

    check_model_name(name)
    where = download(name, progress=True)
    console.print(f"{name}: ready at {where}")


@app.command("info")
def info_command(
    name: Annotated[str, typer.Argument(help="Model name or path.")],
    json_out: JsonOption = False,
) -> None:
    """Where a model is on this machine, its files and size."""
    from illudex.models.hub import status

    check_model_name(name)
    found = status(name)
    if json_out:
        print_json(found.to_json())
        return
    table = Table(show_header=False)
    for key, value in found.to_json().items():
        table.add_row(key, str(value))
    console.print(table)


def check_model_name(name: str | None) -> None:
    """An empty name (an unset variable) must not quietly mean the default or this folder."""
    if name is not None and not name.strip():
        fail("an empty model name (an unset variable?): name a model or a model folder",
             code=2)



def _run_model(paths: list[Path], model: str | None, library: Path | None, json_out: bool,
               verbs: tuple[str, str], run: Callable[[Library, Any], RunSummary],
               engine: tuple[str, str | None] = ("local", None)) -> None:
    """Scan `paths`, run one model over them with a progress bar, and report: what
    `embed` and `quality` share."""

    check_model_name(model)
    with open_library(library) as lib:
        use_engine(lib, *engine)
        run_scan(lib, paths, quiet=json_out)
        with progress_bar(verbs[0], json_out) as update:
            summary = run(lib, update)
    if json_out:
        print_json({"model": summary.model, "done": summary.done, "skipped": summary.skipped,
                    "errors": _errors(summary)})
    else:
        _show_summary(verbs[1], summary)


def _errors(summary: RunSummary) -> list[dict[str, str]]:
    return [{"path": path, "error": error} for path, error in summary.errors]


def _show_summary(verb: str, summary: RunSummary) -> None:
    console.print(f"{verb} {summary.done} picture(s) with {summary.model} "
                  f"({summary.images_per_second:.1f}/s); {summary.skipped} already done.")
    for path, error in summary.errors[:50]:
        console.print(f"[red]skipped[/red] {path}: {error}")
