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
from illudex.web.deps import Lib, State, checked_folder, has_feature
from illudex.web.jobs import Job, JobBusyError, call_with_progress

router = APIRouter(prefix="/api/jobs", tags=["jobs"])
EVENT_INTERVAL_S = 0.25
HEARTBEAT_S = 15.0
JOB_METHODS = {"scan": "scan", "tag": "tag", "embed": "embed"}


class JobBody(BaseModel):
    kind: Literal["scan", "tag", "embed"]
    paths: list[str] = Field(default_factory=list, max_length=100)
    model: str | None = None


@router.get("")
def jobs(lib: Lib, state: State) -> dict[str, Any]:
    """Recent jobs, the library folders, and which kinds of job this illudex can run."""
    return {
        "jobs": [j.as_json() for j in state.jobs.list()],
        "folders": lib.folders(),
        "kinds": [k for k, method in JOB_METHODS.items() if has_feature(lib, method)],
    }


@router.post("", status_code=202)
def start(body: JobBody, lib: Lib, state: State) -> dict[str, Any]:
    """Start a job on folders (default: every library folder)."""
    method = JOB_METHODS[body.kind]
    if not has_feature(lib, method):
        raise HTTPException(501, f"this illudex cannot {body.kind} yet (Library.{method})")
    paths = [checked_folder(p, state.library_dir, must_exist=True) for p in body.paths]
    paths = paths or lib.folders()
    if not paths:
        raise HTTPException(400, "no folders: name at least one folder to scan")
    try:
        job = state.jobs.start(body.kind, paths, _work(method, paths, body.model))
    except JobBusyError as e:
        raise HTTPException(409, str(e)) from None
    return job.as_json()


def _work(method: str, paths: list[str], model: str | None) -> Callable[..., Any]:
    def work(lib: Library, progress: Callable[..., None]) -> Any:
        kwargs = {"model": model} if model else {}
        return call_with_progress(getattr(lib, method), paths, progress=progress, **kwargs)

    return work


def _job_or_404(state: Any, job_id: int) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id} (jobs are forgotten when the server stops)")
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
