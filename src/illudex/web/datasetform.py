"""The Datasets page's form as a dataset `Spec`: the request bodies, and the checks that
turn each problem into a sentence naming its field (`source`, `step-N`, `step-N.PARAM`,
`export.KEY`), so that the page can show it in place.

The form sends parameters as typed JSON or as the text of a form field; `coerce` turns
text into the type of the parameter's default, so the page needs no knowledge of each
step. `spec_toml` writes the same build as the spec file `illudex dataset build` reads.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Literal

from fastapi import HTTPException
from pydantic import BaseModel, Field

from illudex.dataset.errors import DatasetError
from illudex.dataset.registry import make_step
from illudex.dataset.spec import FORMATS, ExportSpec, SourceSpec, Spec, StepSpec
from illudex.errors import InvalidInput
from illudex.library import Library
from illudex.web.deps import ServerState, checked_folder
from illudex.web.routes.images import MAX_IDS

PREVIEW_MAX = 100


class Invalid(InvalidInput):
    """A value from the form the pipeline cannot use: a sentence and the field it is about."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


class SourceBody(BaseModel):
    kind: Literal["query", "ids", "cluster"]
    query: str = Field(default="", max_length=4000)
    ids: list[int] = Field(default_factory=list, max_length=MAX_IDS)
    cluster_job: int | None = None
    cluster: int | None = None


class StepBody(BaseModel):
    use: str = Field(max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)


class ExportBody(BaseModel):
    format: str = "kohya"
    dir: str = Field(default="", max_length=4000)
    options: dict[str, Any] = Field(default_factory=dict)


class DatasetBody(BaseModel):
    source: SourceBody
    steps: list[StepBody] = Field(default_factory=list, max_length=100)
    export: ExportBody = Field(default_factory=ExportBody)


class PreviewBody(DatasetBody):
    sample: int = Field(default=24, ge=1, le=PREVIEW_MAX)


def form_spec(body: DatasetBody, lib: Library, state: ServerState, *, need_dir: bool) -> Spec:
    source = _source(body.source, lib, state)
    steps = tuple(_step(s, n) for n, s in enumerate(body.steps, start=1))
    export = _export(body.export, state, need_dir)
    spec = Spec(source, steps, export)
    if need_dir:
        _check_out(lib, spec)
    return spec


def _source(body: SourceBody, lib: Library, state: ServerState) -> SourceSpec:
    if body.kind == "query":
        if not body.query.strip():
            raise Invalid("Type a query for the pictures to use (for example: 1girl solo).",
                          "source")
        _ = _search(lib, body.query.strip(), 1)  # a query that cannot run fails here
        return SourceSpec(query=body.query.strip())
    ids = _cluster_ids(body, state) if body.kind == "cluster" else list(dict.fromkeys(body.ids))
    if not ids:
        raise Invalid("No pictures chosen: select some in the gallery first." if body.kind == "ids"
                      else "That cluster has no pictures.", "source")
    rows = lib.images(ids)
    missing = [i for i in ids if i not in rows or rows[i].folder_id is None]
    if missing:
        raise Invalid(f"Some chosen pictures are no longer in the library ({len(missing)}: "
                      f"id {', '.join(map(str, missing[:5]))}).", "source")
    return SourceSpec(ids=tuple(ids))


def _cluster_ids(body: SourceBody, state: ServerState) -> list[int]:
    job = state.jobs.get(body.cluster_job) if body.cluster_job is not None else None
    if job is None or job.kind != "cluster" or job.state != "done" or job.result is None:
        raise Invalid(f"There is no finished clustering {body.cluster_job or ''} any more "
                      "(results are forgotten when the server stops): cluster again.",
                      "source")
    found = next((c for c in job.result.clusters if c.id == body.cluster), None)
    if found is None:
        raise Invalid(f"Clustering {body.cluster_job} has no cluster #{body.cluster}.", "source")
    return list(found.image_ids)


def _search(lib: Library, query: str, limit: int) -> Any:
    try:
        return lib.search(query, limit=limit)
    except InvalidInput as e:  # a query that does not parse or cannot run
        first = str(e).strip().splitlines()[0]  # the rest draws a caret under the query
        raise Invalid(_sentence(f"The query {query!r} cannot be used: {first}"), "source") \
            from None


def first_ids(lib: Library, state: ServerState, body: SourceBody, n: int
               ) -> tuple[list[int], int]:
    """The first `n` pictures of the source, in source order, and how many it has."""
    if body.kind == "query":
        found = _search(lib, body.query.strip(), n)
        return [i for i, _path, _score in found.results], int(found.total)
    ids = _cluster_ids(body, state) if body.kind == "cluster" else list(dict.fromkeys(body.ids))
    return ids[:n], len(ids)


def _step(body: StepBody, n: int) -> StepSpec:
    from illudex.dataset.registry import registry

    known = registry().get(body.use)
    if known is None:
        raise Invalid(f"Step {n}: there is no step named {body.use!r}.", f"step-{n}")
    defaults = {p.name: p.default for p in known.params}
    params: dict[str, Any] = {}
    for name, value in body.params.items():
        if name not in defaults:
            raise Invalid(f"Step {n} ({body.use}) has no parameter {name!r}.", f"step-{n}")
        label = f"Step {n} ({body.use}), {name}"
        coerced = coerce(defaults[name], value, label, f"step-{n}.{name}")
        if coerced is not MISSING:
            params[name] = coerced
    try:
        make_step(body.use, params)
    except DatasetError as e:
        raise Invalid(f"Step {n}: {_sentence(str(e))}", _where(str(e), f"step-{n}", params)) \
            from None
    return StepSpec(body.use, params)


def _export(body: ExportBody, state: ServerState, need_dir: bool) -> ExportSpec:
    if body.format not in FORMATS:
        raise Invalid(f"Choose a format: {', '.join(FORMATS)}.", "export.format")
    directory = body.dir.strip()
    if need_dir and not directory:
        raise Invalid("Choose the folder to write the dataset to (its full path).",
                      "export.dir")
    if directory:
        try:
            directory = checked_folder(directory, state.library_dir, must_exist=False)
        except HTTPException as e:
            raise Invalid(_sentence(f"Export folder: {e.detail}"), "export.dir") from None
    defaults = ExportSpec()
    values: dict[str, Any] = {"format": body.format, "dir": directory or "."}
    for name, value in body.options.items():
        if name in ("format", "dir") or not hasattr(defaults, name):
            raise Invalid(f"The export has no option {name!r}.", "export")
        coerced = coerce(getattr(defaults, name), value, f"Export, {name}", f"export.{name}")
        if coerced is not MISSING:
            values[name] = coerced
    return _checked_export(values)


def _checked_export(values: dict[str, Any]) -> ExportSpec:
    """The spec's own checks (format, mode, repeats …), its messages without TOML talk."""
    from illudex.dataset.spec import parse_spec

    table = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()
             if v is not None}
    try:
        return parse_spec({"source": {"ids": [0]}, "export": table}).export
    except DatasetError as e:
        text = str(e)
        key = re.search(r"\[export\] (\w+)", text)
        where = f"export.{key.group(1)}" if key and key.group(1) in values else "export"
        raise Invalid(_sentence(text.replace("[export] ", "Export: ")), where) from None


def _check_out(lib: Library, spec: Spec) -> None:
    """The export folder must be new, empty or an earlier dataset, and may not hold or be
    inside a scanned folder (the build checks that too; here the page hears it before a
    job starts)."""
    from illudex.dataset.exporters import MANIFEST

    out = spec.out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                               and not (out / MANIFEST).is_file())):
        # The export replaces files of its own names: never in a folder of the user's files.
        raise Invalid(f"The folder {out} already holds files that are not an illudex "
                      "dataset: choose a new or empty folder.", "export.dir")
    for folder in lib.folders():
        inside = Path(folder).resolve()
        if out == inside or inside.is_relative_to(out) or out.is_relative_to(inside):
            raise Invalid(f"The export folder {out} overlaps the library folder {inside}: "
                          "choose a folder outside the scanned folders.", "export.dir")


MISSING = object()  # an empty form field: the step's default


def coerce(default: Any, value: Any, label: str, where: str) -> Any:
    """A form value as the type of the parameter's default: typed JSON passes as it is
    (the step checks it), text is parsed; an empty text means the default."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return MISSING
    if isinstance(default, bool):
        if text.lower() in ("true", "yes", "on", "1"):
            return True
        if text.lower() in ("false", "no", "off", "0"):
            return False
        raise Invalid(f"{label}: answer yes or no, not {text!r}.", where)
    if isinstance(default, int | float) or (isinstance(default, tuple) and default):
        return _number(default, text, label, where)
    if isinstance(default, list):
        return [t.strip() for t in text.split(",") if t.strip()]
    if isinstance(default, dict):
        return _table(text, label, where)
    if default is None:
        return _guess(text)
    return text


def _number(default: Any, text: str, label: str, where: str) -> Any:
    whole = isinstance(default, int | tuple)
    parts = [p for p in re.split(r"[,x×\s]+", text) if p]
    try:
        numbers = [int(p) if whole else float(p) for p in parts]
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise Invalid(f"{label}: give {kind}, not {text!r}.", where) from None
    if len(numbers) == 1:
        return numbers[0]
    if len(numbers) == 2 and whole:
        return numbers  # a width and height (pad size, resolution)
    raise Invalid(f"{label}: give one number (or a width and a height), not {text!r}.", where)


def _table(text: str, label: str, where: str) -> dict[str, str]:
    """`old=new, other=thing` (or a JSON object) as a dict."""
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    pairs = [p for p in text.split(",") if p.strip()]
    if not all("=" in p for p in pairs):
        raise Invalid(f"{label}: write it as old=new, other=new.", where)
    return {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}


def _guess(text: str) -> Any:
    """A parameter whose default is None (no type to go by): yes/no, a number, or text."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _where(text: str, step: str, params: dict[str, Any]) -> str:
    """The parameter a step's message names, when it names one."""
    from illudex.dataset.registry import registry

    names = sorted({*params, *(p.name for s in registry().values() for p in s.params)},
                   key=len, reverse=True)
    found = next((n for n in names if re.search(rf"\b{re.escape(n)}\b", text)), None)
    return f"{step}.{found}" if found and found in params else step


def spec_toml(spec: Spec) -> str:
    """The spec as the TOML `illudex dataset build` reads (export options at their
    defaults left out)."""
    from illudex.dataset.kohya import to_toml

    source = {"query": spec.source.query} if spec.source.query is not None \
        else {"ids": list(spec.source.ids)}
    defaults = ExportSpec()
    export = {f.name: plain(getattr(spec.export, f.name)) for f in dataclasses.fields(ExportSpec)
              if f.name in ("format", "dir")
              or getattr(spec.export, f.name) != getattr(defaults, f.name)}
    steps = [{"use": s.use, **{k: plain(v) for k, v in s.params.items() if v is not None}}
             for s in spec.steps]
    table: dict[str, Any] = {"source": source, "step": steps, "export": export}
    if not steps:
        del table["step"]
    return to_toml({k: v for k, v in table.items() if v is not None})


def plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
