"""Clustering from the web: run it as a job with its options, see labelled clusters and a
2D map, export clusters to folders."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from illudex.cluster.algorithms import describe_methods
from illudex.cluster.options import ClusterOptions
from illudex.library import Library
from illudex.web.deps import Lib, State, checked_folder, feature, image_json
from illudex.web.jobs import JobBusyError, call_with_progress
from illudex.web.routes.images import MAX_IDS, find_ids

router = APIRouter(prefix="/api/clusters", tags=["clusters"])
PREVIEW = 24  # pictures shown per cluster in the grids


class ClusterBody(BaseModel):
    q: str = ""
    ids: list[int] | None = Field(default=None, max_length=MAX_IDS)
    by: Literal["tags", "embedding", "both"] = "tags"
    k: int | Literal["auto"] = "auto"
    method: str = "kmeans"
    params: dict[str, Any] = Field(default_factory=dict)
    tfidf: bool = True
    min_cluster_size: int = Field(default=3, ge=1)
    label_tags: int = Field(default=4, ge=1, le=10)
    map: Literal["auto", "pca", "tsne"] | None = "auto"
    seed: int = 0


class ExportBody(BaseModel):
    dest: str
    mode: Literal["copy", "move", "link"] = "copy"


@router.get("/methods")
def methods() -> dict[str, Any]:
    """Clustering methods and their parameters (for the options form)."""
    return {"methods": describe_methods()}


@router.post("", status_code=202)
def start(body: ClusterBody, lib: Lib, state: State) -> dict[str, Any]:
    """Cluster the pictures of a query (or the given ids) in the background."""
    feature(lib, "cluster")
    ids = body.ids if body.ids is not None else [i for i, _ in find_ids(
        lib, state, body.q, MAX_IDS, 0)[0]]
    if len(ids) < 2:
        raise HTTPException(400, "clustering needs at least 2 pictures")
    options = ClusterOptions(
        by=body.by, k=body.k, method=body.method, params=body.params, tfidf=body.tfidf,
        min_cluster_size=body.min_cluster_size, label_tags=body.label_tags, map=body.map,
        seed=body.seed,
    )
    try:
        options.validated_params()
    except Exception as e:  # ClusterError: a readable reason
        raise HTTPException(400, str(e)) from None

    def work(job_lib: Library, progress: Any) -> Any:
        return call_with_progress(job_lib.cluster, ids, options, progress=progress)

    try:
        job = state.jobs.start("cluster", [], work)
    except JobBusyError as e:
        raise HTTPException(409, str(e)) from None
    return job.as_json()


@router.get("/{job_id}")
def result(job_id: int, lib: Lib, state: State) -> dict[str, Any]:
    """A finished clustering: clusters with preview pictures, outliers, scores, map."""
    found = _result_or_error(state, job_id)
    data = _as_dict(found)
    preview = [i for c in data["clusters"] for i in c["image_ids"][:PREVIEW]]
    rows = lib.images(preview)
    for c in data["clusters"]:
        c["preview"] = [image_json(rows[i]) for i in c["image_ids"][:PREVIEW] if i in rows]
        c.pop("files", None)
    data.pop("outliers", None)
    data.pop("missing", None)
    return data


@router.post("/{job_id}/export")
def export(job_id: int, body: ExportBody, lib: Lib, state: State) -> dict[str, Any]:
    """Copy, link or move (undoably) each cluster into a folder named by its label."""
    found = _result_or_error(state, job_id)
    dest = checked_folder(body.dest, state.library_dir, must_exist=False)
    action = feature(lib, "export_clusters")(found, dest, mode=body.mode)
    state.catalog_changed()
    return {"action": action, "dest": dest, "mode": body.mode}


def _result_or_error(state: Any, job_id: int) -> Any:
    job = state.jobs.get(job_id)
    if job is None or job.kind != "cluster":
        raise HTTPException(404, f"no clustering job {job_id}")
    if job.state != "done":
        raise HTTPException(409, f"clustering job {job_id} is {job.state}: {job.message}")
    return job.result


def _as_dict(found: Any) -> dict[str, Any]:
    for name in ("to_dict", "as_json"):
        method = getattr(found, name, None)
        if callable(method):
            return dict(method())
    raise HTTPException(500, "clustering gave no result")

