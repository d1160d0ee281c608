"""Clustering from the web: run it as a job with its options, see labelled clusters and a
2D map, export clusters to folders."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from illudex.cluster.algorithms import describe_methods
from illudex.cluster.options import ClusterOptions
from illudex.library import Library
from illudex.progress import ProgressCallback
from illudex.web.deps import Lib, State, checked_folder, image_json
from illudex.web.routes.images import MAX_IDS, MAX_PAGE, find_ids

router = APIRouter(prefix="/api/clusters", tags=["clusters"])
PREVIEW = 24  # pictures shown per cluster in the grids


class ClusterBody(BaseModel):
    q: str = ""
    ids: list[int] | None = Field(default=None, max_length=MAX_IDS)
    by: Literal["tags", "embedding", "both"] = "tags"
    k: int | str = "auto"  # checked by _k, with a sentence rather than pydantic's union text
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
    clusters: list[int] | None = Field(default=None, max_length=10_000)  # default: all


def _k(value: int | str) -> int | str:
    """The number of clusters: a whole number of 2 or more, or "auto"."""
    text = str(value).strip().lower()
    if text in ("", "auto"):
        return "auto"
    if not text.isdigit() or int(text) < 2:
        raise HTTPException(400, f"number of clusters (k): give a whole number of 2 or more, "
                                 f"or auto — not {value!r}")
    return int(text)


@router.get("/methods")
def methods() -> dict[str, Any]:
    """Clustering methods and their parameters (for the options form)."""
    return {"methods": describe_methods()}


@router.post("", status_code=202)
def start(body: ClusterBody, lib: Lib, state: State) -> dict[str, Any]:
    """Cluster the pictures of a query (or the given ids) in the background."""
    ids = body.ids if body.ids is not None else [i for i, _ in find_ids(
        lib, body.q, MAX_IDS, 0)[0]]
    if len(ids) < 2:
        raise HTTPException(400, "clustering needs at least 2 pictures")
    options = ClusterOptions(
        by=body.by, k=_k(body.k), method=body.method, params=body.params,
        tfidf=body.tfidf, min_cluster_size=body.min_cluster_size,
        label_tags=body.label_tags, map=body.map, seed=body.seed,
    )
    options.validated_params()  # ClusterError (InvalidInput): a 400 with its reason

    def work(job_lib: Library, progress: ProgressCallback) -> Any:
        return job_lib.cluster(ids, options, progress=progress)

    job = state.jobs.start("cluster", [], work)  # busy: a 409
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


@router.get("/{job_id}/members/{cluster_id}")
def members(
    job_id: int, cluster_id: int, lib: Lib, state: State,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    """One cluster's pictures, a page at a time, as the gallery lists them."""
    found = _result_or_error(state, job_id)
    cluster = next((c for c in found.clusters if c.id == cluster_id), None)
    if cluster is None:
        raise HTTPException(404, f"clustering job {job_id} has no cluster #{cluster_id}")
    page = cluster.image_ids[offset : offset + limit]
    rows = lib.images(page)
    return {"total": len(cluster.image_ids), "offset": offset, "ids": cluster.image_ids,
            "label": cluster.label, "items": [{**image_json(rows[i]), "score": None}
                                              for i in page if i in rows]}


@router.post("/{job_id}/export")
def export(job_id: int, body: ExportBody, lib: Lib, state: State) -> dict[str, Any]:
    """Copy, link or move (undoably) each cluster (or those named) into a folder named
    by its label; undo also removes the folders it made."""
    found = _result_or_error(state, job_id)
    known = {c.id for c in found.clusters}
    unknown = sorted(set(body.clusters or ()) - known)
    if unknown:
        raise HTTPException(400, f"clustering job {job_id} has no cluster "
                                 f"{', '.join(f'#{c}' for c in unknown)}")
    if body.clusters is not None and not body.clusters:
        raise HTTPException(400, "choose at least one cluster to export")
    dest = checked_folder(body.dest, state.library_dir, must_exist=False)
    action = lib.files.export_clusters(found, dest, mode=body.mode, clusters=body.clusters)
    state.catalog_changed()
    return {"action": action, "dest": dest, "mode": body.mode, "clusters": body.clusters}


def _result_or_error(state: Any, job_id: int) -> Any:
    job = state.jobs.get(job_id)
    if job is None or job.kind != "cluster":
        raise HTTPException(404, f"no clustering job {job_id}")
    if job.state != "done":
        raise HTTPException(409, f"clustering job {job_id} is {job.state}: {job.message}")
    if job.result is None:  # results live in memory: a restart forgets them
        raise HTTPException(404, f"the result of clustering job {job_id} was lost when the "
                                 "server stopped: cluster again")
    return job.result


def _as_dict(found: Any) -> dict[str, Any]:
    for name in ("to_dict", "as_json"):
        method = getattr(found, name, None)
        if callable(method):
            return dict(method())
    raise HTTPException(500, "clustering gave no result")

