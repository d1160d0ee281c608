"""`illudex cluster PATH_OR_QUERY`: group pictures by tags and/or embeddings, name the
groups by their tags, draw a map, and export them to label folders (undoably)."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from illudex.cli.common import (
    DefaultGroup,
    JsonOption,
    LibraryOption,
    confirm,
    console,
    fail,
    non_empty_path,
    open_library,
    print_json,
    progress_bar,
)
from illudex.cli.scan import run_scan
from illudex.cli.search import query_ids
from illudex.journal import JournalError
from illudex.library import Library, LibraryError

if TYPE_CHECKING:
    from illudex.cluster import ClusterOptions, ClusterResult

METHOD_NAMES = ("kmeans", "agglomerative", "spectral", "optics", "hdbscan")
SAMPLE_FILES = 3  # file names shown per cluster


class ClusterGroup(DefaultGroup):
    """`illudex cluster X` runs `cluster run X`; `illudex cluster methods` lists methods."""

    default_command = "run"


app = typer.Typer(
    cls=ClusterGroup, no_args_is_help=True,
    help="Group pictures by tags or embeddings; name the groups by their tags.\n\n"
         "`illudex cluster PATH_OR_QUERY` runs `cluster run` (`illudex cluster run --help` "
         "lists its options); `illudex cluster methods` lists the methods and parameters.",
)


@app.command("run")
def run_command(
    target: Annotated[str, typer.Argument(
        metavar="PATH_OR_QUERY",
        help="A folder (scanned first) or a search query choosing the pictures.")],
    by: Annotated[str, typer.Option(help="Features: tags, embedding or both.")] = "tags",
    k: Annotated[str, typer.Option("--k", help="Number of clusters, or auto.")] = "auto",
    method: Annotated[str, typer.Option(help=", ".join(METHOD_NAMES))] = "kmeans",
    param: Annotated[list[str] | None, typer.Option(
        help="A method parameter key=value (repeatable; see `illudex cluster methods`).")
    ] = None,
    svd: Annotated[str, typer.Option(
        help="Reduce tags to N dimensions first: N, auto or none.")] = "auto",
    seed: Annotated[int, typer.Option(
        min=0, max=2**32 - 1, help="Random seed (same seed, same clusters).")] = 0,
    min_size: Annotated[int, typer.Option(
        min=1, help="Clusters smaller than this are flagged tiny.")] = 3,
    map_png: Annotated[Path | None, typer.Option(
        "--map", parser=non_empty_path, help="Save a 2D map of the clusters as this PNG.")] = None,
    export: Annotated[Path | None, typer.Option(
        parser=non_empty_path,
        help="Put each cluster's pictures (and captions) in a folder named by its label.")
    ] = None,
    move: Annotated[bool, typer.Option("--move", help="Export by moving the files.")] = False,
    copy: Annotated[bool, typer.Option("--copy", help="Export by copying (default).")] = False,
    link: Annotated[bool, typer.Option("--link", help="Export as symbolic links.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show what --export would do.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    library: LibraryOption = None,
    json_out: JsonOption = False,
) -> None:
    """Cluster the pictures in a folder, or those a query matches."""
    mode = _export_mode(move, copy, link)
    options = _options(by, k, method, param or [], svd, seed, min_size, map_png)
    with open_library(library) as lib:
        ids = _selection(lib, target, json_out)
        result = _cluster(lib, ids, options, json_out)
        if map_png is not None:
            _save_map(result, map_png)
        if json_out and export is None:
            _print_result(result)
            return
        if not json_out:
            show_result(result)
        if export is not None:
            _export(lib, result, export, mode, dry_run, yes, json_out)


@app.command("methods")
def methods_command(json_out: JsonOption = False) -> None:
    """The clustering methods and their parameters (for --method and --param)."""
    from illudex.cluster import describe_methods

    methods = describe_methods()
    if json_out:
        print_json(methods)
        return
    for name, spec in methods.items():
        needs = "takes --k" if spec["needs_k"] else "finds its own number of clusters"
        limit = f"; up to {spec['max_images']} pictures" if spec["max_images"] else ""
        table = Table("parameter", "default", "choices", "meaning", title_justify="left",
                      title=f"{name}: {spec['help']} ({needs}{limit})")
        for pname, p in spec["params"].items():
            choices = ", ".join(map(str, p["choices"]))
            table.add_row(pname, str(p["default"]), choices, p["help"])
        console.print(table)
    console.print("Set a parameter with --param key=value, e.g. "
                  "`--method hdbscan --param min_cluster_size=10`.")


# --- options -------------------------------------------------------------------------


def _export_mode(move: bool, copy: bool, link: bool) -> str:
    chosen = [name for name, on in (("move", move), ("copy", copy), ("link", link)) if on]
    if len(chosen) > 1:
        fail("choose one of --move, --copy and --link")
    return chosen[0] if chosen else "copy"


def _options(by: str, k: str, method: str, params: list[str], svd: str, seed: int,
             min_size: int, map_png: Path | None) -> ClusterOptions:
    from illudex.cluster import ClusterOptions

    return ClusterOptions(
        by=by, k=_k(k), method=method, params=parse_params(params),
        svd_components=_svd(svd), seed=seed, min_cluster_size=min_size,
        map="auto" if map_png is not None else None,
    )


def _k(text: str) -> int | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        fail(f"--k must be a whole number or auto, not {text!r}")
        raise  # unreachable: fail exits


def _svd(text: str) -> int | str | None:
    value = text.strip().lower()
    if value in ("auto", "none"):
        return None if value == "none" else "auto"
    try:
        return int(value)
    except ValueError:
        fail(f"--svd must be a number, auto or none, not {text!r}")
        raise  # unreachable: fail exits


def parse_params(items: list[str]) -> dict[str, Any]:
    """`key=value` strings → a dict; values read as bool, none, int, float or text."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            fail(f"--param wants key=value, not {item!r} (see `illudex cluster methods`)")
        params[key.strip()] = _value(raw.strip())
    return params


def _value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    if lowered in ("none", "null", ""):
        return None
    for convert in (int, float):
        with contextlib.suppress(ValueError):
            return convert(raw)
    return raw


# --- running ---------------------------------------------------------------------------


def _selection(lib: Library, target: str, quiet: bool) -> list[int]:
    """A folder's pictures (scanning it first), or those a query matches."""
    if not target.strip():
        fail("an empty PATH_OR_QUERY (an unset variable?): name a folder or write a query",
             code=2)
    folder = Path(target).expanduser()
    if folder.is_dir() or folder.is_file():  # a picture is the folder of one
        run_scan(lib, [folder], quiet=quiet)
        return lib.image_ids([folder])
    return query_ids(lib, target)


def _cluster(lib: Library, ids: list[int], options: ClusterOptions,
             quiet: bool) -> ClusterResult:
    from sklearn.exceptions import ConvergenceWarning

    with progress_bar(None, quiet) as update, warnings.catch_warnings():  # names each stage
        # scikit-learn warns when k-means finds fewer distinct clusters than asked
        # (duplicate rows) while k is searched; the scores of each k already show it.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return lib.cluster(ids, options, progress=update)


def _save_map(result: ClusterResult, path: Path) -> None:
    from illudex.cluster import save_map_png

    if result.map is None:
        fail("no map was computed for this clustering")
    try:
        save_map_png(result, path)
    except (OSError, ValueError) as e:
        fail(f"cannot save the map to {path}: {e}")


def _print_result(result: ClusterResult, extra: dict[str, Any] | None = None) -> None:
    data = json.loads(result.to_json(with_map=False))
    print_json({**data, **(extra or {})})


# --- showing ---------------------------------------------------------------------------


def show_result(result: ClusterResult) -> None:
    table = Table("id", "size", "label", "files", title="Clusters", title_justify="left")
    for cluster in result.clusters:
        names = [Path(f).name for f in cluster.files[:SAMPLE_FILES]]
        more = f" … +{cluster.size - SAMPLE_FILES}" if cluster.size > SAMPLE_FILES else ""
        size = f"{cluster.size} [yellow](tiny)[/yellow]" if cluster.tiny else str(cluster.size)
        table.add_row(str(cluster.id), size, escape(", ".join(cluster.label) or "(no tags)"),
                      escape(", ".join(names) + more))
    console.print(table)
    m = result.metrics
    notes = [f"{len(result.clusters)} cluster(s)", f"{len(result.outliers)} outlier(s)"]
    if m.get("n_tiny"):
        notes.append(f"{m['n_tiny']} tiny")
    if result.missing:
        notes.append(f"{len(result.missing)} picture(s) without features left out")
    console.print(", ".join(notes) + ".")
    scores = [f"{name} {_number(m.get(name))}"
              for name in ("silhouette", "davies_bouldin", "calinski_harabasz") if name in m]
    console.print(f"{m.get('method')} by {m.get('by')}, k chosen by {m.get('k_chosen_by')}; "
                  + ", ".join(scores) + f"; {m.get('seconds', 0)} s.", highlight=False)
    if m.get("k_scores"):
        show_k_scores(m["k_scores"], m.get("k"))


def show_k_scores(scores: list[dict[str, Any]], chosen: int | None) -> None:
    table = Table("k", "silhouette ↑", "davies-bouldin ↓", "calinski-harabasz ↑",
                  title="Each k tried", title_justify="left")
    for s in scores:
        mark = " [green]←[/green]" if s["k"] == chosen else ""
        table.add_row(f"{s['k']}{mark}", _number(s["silhouette"]), _number(s["davies_bouldin"]),
                      _number(s["calinski_harabasz"]))
    console.print(table)


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


# --- export ---------------------------------------------------------------------------


def _export(lib: Library, result: ClusterResult, dest: Path, mode: str, dry_run: bool,
            yes: bool, json_out: bool) -> None:
    from illudex.cluster import export_plan

    plan = export_plan(result, dest.expanduser().resolve())
    folders = sorted({dst.parent.name for _, dst in plan})
    verb = {"move": "move", "copy": "copy", "link": "link"}[mode]
    if dry_run:
        if json_out:
            _print_result(result, {"export": {"dry_run": True, "mode": mode, "planned": [
                {"src": str(src), "dst": str(dst)} for src, dst in plan]}})
        else:
            console.print(f"Dry run: would {verb} {len(plan)} file(s) into {len(folders)} "
                          f"folder(s) under {escape(str(dest))}: {escape(', '.join(folders))}.",
                          highlight=False)
        return
    if not plan:
        console.print("Nothing to export.")
        return
    if not confirm(f"{verb.capitalize()} {len(plan)} file(s) into {len(folders)} folder(s) "
                   f"under {dest}?", yes):
        raise typer.Exit(1)
    try:
        with progress_bar("Exporting", json_out) as update:
            action = lib.files.export_clusters(result, dest, mode=mode, progress=update)
    except (LibraryError, JournalError, OSError) as e:
        fail(f"export stopped: {e}; `illudex undo` takes back what was done")
    if json_out:
        _print_result(result, {"export": {"dry_run": False, "mode": mode, "action": action,
                                          "files": len(plan), "folders": folders}})
        return
    done = {"move": "Moved", "copy": "Copied", "link": "Linked"}[mode]
    console.print(f"{done} {len(plan)} file(s) into {len(folders)} folder(s) under "
                  f"{escape(str(dest))} (action {action}); `illudex undo` takes it back.",
                  highlight=False)
