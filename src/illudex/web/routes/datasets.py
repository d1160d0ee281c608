"""Datasets from the web: pick a source (a query, chosen pictures, a cluster), add steps,
preview what the first pictures become, build the dataset as a job, open its report.

A problem with the form answers 400 with `{"error": sentence, "where": field}` (see
`illudex.web.datasetform`, which turns the form into a `Spec`), so the page can show it
beside the field.

The report is served by job id only: `/api/datasets/JOB/report/` is the report.html that
job wrote, and the pictures that page refers to are the only other files served (the
export's own pictures and the report's thumbnails), never a path taken from the request.
"""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response

from illudex.dataset.cache import Cache
from illudex.dataset.errors import DatasetError
from illudex.dataset.items import Item
from illudex.dataset.registry import describe_steps, make_step
from illudex.dataset.report import REPORT
from illudex.dataset.spec import FORMATS, MODES, ExportSpec, SourceSpec
from illudex.library import Library
from illudex.progress import ProgressCallback
from illudex.web.datasetform import (
    DatasetBody,
    Invalid,
    PreviewBody,
    first_ids,
    form_spec,
    plain,
    spec_toml,
)
from illudex.web.deps import Lib, ServerState, State, image_json

router = APIRouter(prefix="/api/datasets", tags=["datasets"])
CACHE_FILE = re.compile(r"[0-9a-f]{8,128}\.(png|jpg|webp)")
REPORT_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
EXPORT_HELP = {
    "name": "the class name: the kohya folder is img/{repeats}_{name}",
    "repeats": "how often each picture is seen per epoch (kohya num_repeats)",
    "mode": "link: hard link where possible; copy; encode: write every picture anew",
    "image_format": "file format of pictures the steps changed (png, jpg, webp)",
    "quality": "JPEG / WebP quality (1-100)",
    "flatten_alpha": "put transparent pictures on white",
    "class_tokens": "kohya class_tokens (empty: the name)",
    "keep_tokens": "caption tokens kept in front when the trainer shuffles",
    "resolution": "training resolution: a side, or width, height",
    "enable_bucket": "aspect-ratio buckets",
    "min_bucket_reso": "smallest bucket side",
    "max_bucket_reso": "largest bucket side",
    "bucket_reso_steps": "bucket sides are multiples of this",
    "bucket_no_upscale": "small pictures keep their size",
}
KOHYA_ONLY = frozenset({"repeats", "class_tokens", "keep_tokens", "resolution",
                        "enable_bucket", "min_bucket_reso", "max_bucket_reso",
                        "bucket_reso_steps", "bucket_no_upscale"})


@router.get("/steps")
def steps() -> dict[str, Any]:
    """Every step with its parameters and defaults, and the exporters with their options."""
    defaults = ExportSpec()
    options = [{"name": f.name, "default": plain(getattr(defaults, f.name)),
                "help": EXPORT_HELP.get(f.name, ""),
                "formats": ["kohya", "kohya-finetune"] if f.name in KOHYA_ONLY else list(FORMATS)}
               for f in dataclasses.fields(ExportSpec) if f.name not in ("format", "dir")]
    return {"steps": describe_steps(), "formats": list(FORMATS), "modes": list(MODES),
            "options": options}


@router.post("/preview")
def preview(body: PreviewBody, lib: Lib, state: State) -> Response:
    """Run the steps on the source's first pictures (nothing is exported): what is kept,
    with its caption and size, and what each step dropped, and why. The pixels worked out
    here are cached, so the build does not redo them."""
    from illudex.dataset.pipeline import Context, run

    try:
        spec = form_spec(body, lib, state, need_dir=False)
        ids, total = first_ids(lib, state, body.source, body.sample)
        steps = [make_step(s.use, s.params) for s in spec.steps]
        context = Context(lib, Cache.in_library(lib.dir), workers=1)
        outcome = run(context, SourceSpec(ids=tuple(ids)), spec.steps, steps,
                      _encoding(spec.export), dry_run=False)
    except Invalid as e:
        return _invalid(e)
    except DatasetError as e:
        return _invalid(Invalid(str(e), "source"))
    rows = lib.images([i.image_id for i in outcome.kept + [d.item for d in outcome.dropped]
                       if i.image_id is not None])
    return JSONResponse({
        "sample": len(ids), "total": total,
        "kept": [_preview_item(i, rows, context.cache, lib) for i in outcome.kept],
        "dropped": [{**_preview_item(d.item, rows, context.cache, lib), "step": d.step,
                     "reason": d.reason} for d in outcome.dropped],
        "errors": outcome.errors,
    })


@router.post("", status_code=202)
def start(body: DatasetBody, lib: Lib, state: State) -> Response:
    """Build the dataset in the background (a job: progress at /api/jobs/ID/events)."""
    try:
        spec = form_spec(body, lib, state, need_dir=True)
    except Invalid as e:
        return _invalid(e)

    params = {"spec_toml": spec_toml(spec)}
    job = state.jobs.start("dataset", [str(spec.out)], _work(params), params)  # busy: a 409
    return JSONResponse(job.as_json(), status_code=202)


def resumable_kinds() -> dict[str, Any]:
    """A dataset build runs again from its spec after a restart (steps cache their work)."""
    return {"dataset": _work}


def _work(params: dict[str, Any]) -> Any:
    import tomllib

    from illudex.dataset.pipeline import build
    from illudex.dataset.spec import parse_spec

    toml = str(params["spec_toml"])
    spec = parse_spec(tomllib.loads(toml))

    def work(job_lib: Library, progress: ProgressCallback) -> DatasetRun:
        return DatasetRun(build(job_lib, spec, progress=progress), toml)

    return work


@router.get("/{job_id}")
def result(job_id: int, state: State) -> dict[str, Any]:
    """A dataset job: its state and, once done, what was exported and dropped."""
    job = state.jobs.get(job_id)
    if job is None or job.kind != "dataset":
        raise HTTPException(404, f"no dataset job {job_id} (old jobs are forgotten; "
                                 "the dataset and its report.html stay)")
    data = job.as_json()
    if isinstance(job.result, DatasetRun):
        data["result"] = job.result.report.as_json()
        data["spec_toml"] = job.result.toml
        data["report_url"] = f"/api/datasets/{job_id}/report/" if job.result.report.report \
            else None
    return data


@router.get("/{job_id}/report/")
def report(job_id: int, state: State) -> Response:
    """The report.html the job wrote (scripts off: it is a page of pictures)."""
    page = _built(state, job_id).report.report
    if page is None or not page.is_file():
        raise HTTPException(404, f"dataset job {job_id} wrote no report (or it was removed)")
    return _file(page, "text/html; charset=utf-8")


@router.get("/{job_id}/report/{name:path}")
def report_file(job_id: int, name: str, state: State) -> Response:
    """A picture the report shows: an exported picture or one of the report's thumbnails."""
    run = _built(state, job_id)
    out = run.report.out
    if name == REPORT:
        return report(job_id, state)
    if name not in run.shown():
        raise HTTPException(404, "not a picture of this report")
    path = out / name
    if not path.resolve().is_relative_to(out.resolve()) or not path.is_file():
        raise HTTPException(404, "not a picture of this report")
    return _file(path, None)


@router.get("/cache/{name}")
def cache_file(name: Annotated[str, PathParam(max_length=200)], lib: Lib) -> Response:
    """A picture the steps made (for the preview), by its cache key: nothing else."""
    if not CACHE_FILE.fullmatch(name):
        raise HTTPException(404, "not a dataset picture")
    path = Cache.in_library(lib.dir).file_path(name.split(".")[0], "." + name.split(".")[1])
    if not path.is_file():
        raise HTTPException(404, "that picture is no longer in the dataset cache")
    return _file(path, None)


@dataclasses.dataclass
class DatasetRun:
    """What a dataset job returns: the build report, per-picture errors for the job list,
    and the files its report may show."""

    report: Any  # pipeline.BuildReport
    toml: str = ""  # the same build as a spec file, for `illudex dataset build`
    _shown: frozenset[str] | None = None

    @property
    def errors(self) -> list[dict[str, str]]:
        return list(self.report.as_json()["errors"])

    def shown(self) -> frozenset[str]:
        """The pictures the report page refers to (read from the page the job wrote)."""
        if self._shown is None:
            page = self.report.report
            text = page.read_text(encoding="utf-8") if page and page.is_file() else ""
            # The server hears the path decoded: so compare with the decoded src.
            self._shown = frozenset(unquote(html.unescape(s))
                                    for s in re.findall(r'src="([^"]*)"', text))
        return self._shown

    def as_json(self) -> dict[str, Any]:
        data = self.report.as_json()
        return {"exported": data["exported"], "dropped": sum(data["dropped"].values()),
                "processed": data["processed"], "written": data["written"], "out": data["out"]}


def _invalid(error: Invalid) -> JSONResponse:
    return JSONResponse({"error": str(error), "where": error.where}, status_code=400)


# -- preview and report helpers ------------------------------------------------------------


def _encoding(export: ExportSpec) -> Any:
    from illudex.dataset.work import Encoding

    return Encoding(export.image_format, export.quality, export.flatten_alpha,
                    export.mode == "encode")


def _preview_item(item: Item, rows: dict[int, Any], cache: Cache, lib: Library
                  ) -> dict[str, Any]:
    from illudex.web.datasetboxes import item_boxes, parent_view

    row = rows.get(item.image_id) if item.image_id is not None else None
    data: dict[str, Any] = image_json(row) if row is not None else {"name": item.name}
    data.update({"caption": item.caption, "out_width": item.width, "out_height": item.height,
                 "out_name": item.name, "changed": None, "boxes": item_boxes(item),
                 "parent": parent_view(item, lib, cache)})
    changed = Path(item.file)
    if item.file != item.source and changed.is_relative_to(cache.root):
        data["changed"] = f"/api/datasets/cache/{changed.name}"
    return data


def _built(state: ServerState, job_id: int) -> DatasetRun:
    job = state.jobs.get(job_id)
    if job is None or job.kind != "dataset":
        raise HTTPException(404, f"no dataset job {job_id}")
    if not isinstance(job.result, DatasetRun):
        raise HTTPException(409, f"dataset job {job_id} is {job.state}: it has no report yet")
    return job.result


def _file(path: Path, media_type: str | None) -> Response:
    response = FileResponse(path, media_type=media_type)
    response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
