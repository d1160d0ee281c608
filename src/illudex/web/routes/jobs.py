"""Jobs: scan, tag or embed folders in the background; progress as server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from illudex.library import Library
from illudex.progress import ProgressCallback
from illudex.web.deps import Lib, State, checked_folder
from illudex.web.jobs import Job

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
EVENT_INTERVAL_S = 0.25
HEARTBEAT_S = 15.0
JOB_KINDS = ("scan", "tag", "embed")


MODEL_KINDS = {"tag": "tagger", "embed": "clip"}


class JobBody(BaseModel):
    kind: Literal["scan", "tag", "embed"]
    paths: list[str] = Field(default_factory=list, max_length=100)
    model: str | None = Field(default=None, max_length=1000)
    # Tag jobs: keep a tag whose score is above these (the tagger's defaults when None).
    general_threshold: float | None = Field(default=None, gt=0, lt=1)
    character_threshold: float | None = Field(default=None, gt=0, lt=1)
    download: bool = False  # fetch a model that is not on this machine yet


def _models() -> dict[str, list[dict[str, Any]]]:
    """Models per job kind, known ones and those in the models folder, with whether each
    is on this machine (no network)."""
    from illudex.models import hub, registry

    out: dict[str, list[dict[str, Any]]] = {}
    for job_kind, kind in MODEL_KINDS.items():
        names = [m.name for m in registry.list_models(kind)]  # type: ignore[arg-type]
        folder = hub.models_dir()
        if folder is not None and folder.is_dir():
            names += sorted(p.name for p in folder.iterdir()
                            if p.is_dir() and registry.detect_kind(p) == kind)
        default = registry.default_model(kind)  # type: ignore[arg-type]
        out[job_kind] = [{"name": n, "available": _available(n), "default": n == default}
                         for n in dict.fromkeys(names)]
    return out


def _available(name: str) -> bool:
    from illudex.models import hub
    from illudex.models.errors import ModelError

    try:
        return hub.status(name).available
    except (ModelError, OSError):
        return False


def _check_model(body: JobBody) -> str | None:
    """The model a tag or embed job will use, refused at once (one line) when it cannot
    be loaded, rather than failing inside the job."""
    if body.kind not in MODEL_KINDS:
        return None
    from illudex.models import hub, registry
    from illudex.models.errors import ModelError

    kind = MODEL_KINDS[body.kind]
    name = (body.model or "").strip() or registry.default_model(kind)  # type: ignore[arg-type]
    try:
        spec = registry.resolve(name, kind)  # type: ignore[arg-type]
        found = hub.locate(spec)
    except ModelError as e:
        raise HTTPException(400, str(e).splitlines()[0]) from None
    if found is None and (not body.download or hub.is_offline()):
        why = "downloads are off (HF_HUB_OFFLINE)" if body.download else \
            "download it first (needs internet) or choose a model folder"
        raise HTTPException(400, f"model {spec.name!r} is not on this machine: {why}")
    return name


@router.get("")
def jobs(lib: Lib, state: State) -> dict[str, Any]:
    """Recent jobs (kept in the catalog, newest first), the library folders, and which
    kinds of job this illudex can run."""
    return {
        "jobs": [j.as_json() for j in state.jobs.list()],
        "folders": lib.folders(),
        "kinds": list(JOB_KINDS),
        "models": _models(),
    }


@router.post("", status_code=202)
def start(body: JobBody, lib: Lib, state: State) -> dict[str, Any]:
    """Start a job on folders (default: every library folder)."""
    paths = [checked_folder(p, state.library_dir, must_exist=True) for p in body.paths]
    paths = paths or lib.folders()
    if not paths:
        raise HTTPException(400, "no folders: name at least one folder to scan")
    params = {"paths": paths, "model": _check_model(body),
              "general_threshold": body.general_threshold,
              "character_threshold": body.character_threshold}
    job = state.jobs.start(body.kind, paths, _work_for(body.kind)(params), params)  # busy: a 409
    return job.as_json()


def resumable_kinds() -> dict[str, Callable[[dict[str, Any]], Callable[..., Any]]]:
    """How to build each kind's work again from its stored parameters (after a restart)."""
    return {kind: _work_for(kind) for kind in JOB_KINDS}


def _work_for(kind: str) -> Callable[[dict[str, Any]], Callable[..., Any]]:
    def build(params: dict[str, Any]) -> Callable[..., Any]:
        paths = [str(p) for p in params["paths"]]
        options = _options(kind, params.get("general_threshold"),
                           params.get("character_threshold"))
        return _work(kind, paths, params.get("model"), options)

    return build


def _options(kind: str, general: float | None, character: float | None) -> Any:
    """TagOptions for a tag job with thresholds, else None (the defaults)."""
    if kind != "tag" or (general is None and character is None):
        return None
    from illudex.analysers.wd_tagger import TagOptions

    defaults = TagOptions()
    return TagOptions(general_threshold=general or defaults.general_threshold,
                      character_threshold=character or defaults.character_threshold)


def _work(kind: str, paths: list[str], model: str | None, options: Any
          ) -> Callable[[Library, ProgressCallback], Any]:
    def work(lib: Library, progress: ProgressCallback) -> Any:
        if kind == "scan":
            return lib.scan(paths, progress=progress)
        if kind == "tag":
            return lib.models.tag(paths, model=model or None, options=options, progress=progress)
        return lib.models.embed(paths, model=model or None, progress=progress)

    return work


def _job_or_404(state: Any, job_id: int) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id} (old jobs are forgotten)")
    return job


@router.get("/{job_id}")
def job(job_id: int, state: State) -> dict[str, Any]:
    return _job_or_404(state, job_id).as_json()


@router.post("/{job_id}/cancel")
def cancel(job_id: int, state: State) -> dict[str, Any]:
    _job_or_404(state, job_id)
    return state.jobs.cancel(job_id).as_json()  # type: ignore[union-attr]


@router.get("/{job_id}/events")
async def events(job_id: int, request: Request, state: State) -> StreamingResponse:
    """Progress as server-sent events: one `data:` JSON snapshot per change, errors once."""
    found = _job_or_404(state, job_id)
    return StreamingResponse(_stream(found, request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _stream(job: Job, request: Request) -> AsyncIterator[str]:
    sent_version, sent_errors, quiet = -1, 0, 0.0
    while True:
        finished = job.finished_state  # read first: the snapshot after it shows the end
        if job.version != sent_version or finished:
            sent_version = job.version
            snapshot = job.as_json(errors_from=sent_errors)
            sent_errors += len(snapshot["errors"])
            yield f"id: {sent_version}\ndata: {json.dumps(snapshot, ensure_ascii=False)}\n\n"
            quiet = 0.0
            if finished:
                yield "event: end\ndata: {}\n\n"
                return
        elif quiet >= HEARTBEAT_S:
            yield ": keep-alive\n\n"
            quiet = 0.0
        if await request.is_disconnected():
            return
        await asyncio.sleep(EVENT_INTERVAL_S)
        quiet += EVENT_INTERVAL_S
