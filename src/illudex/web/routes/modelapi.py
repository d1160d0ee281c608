"""The model API, for other programs: which models are here, what a tagger says about a
picture, picture and text vectors. Nothing is stored.

A picture comes as the request body (raw bytes, Content-Type image/*, as
/api/search/upload takes it; the byte limit is enforced before the body is read, the
pixel limit from the header, before decoding) or as `?id=N` of a catalogued picture.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from illudex.filecheck import why_not
from illudex.imageio import DecodeError, decode_file
from illudex.library import Library
from illudex.models import inference
from illudex.models.pool import shared
from illudex.web.deps import MAX_ID, rows_or_404

router = APIRouter(prefix="/api", tags=["models"])
UPLOAD_PATHS = frozenset({"/api/analyse", "/api/embed/image"})
ModelName = Annotated[str, Query(min_length=1, max_length=200,
                                 description="A model's name (see GET /api/models).")]
PictureId = Annotated[int | None, Query(ge=1, le=MAX_ID,
                                        description="A catalogued picture, instead of a body.")]
Threshold = Annotated[float, Query(ge=0.0, le=1.0)]


class InstalledModel(BaseModel):
    name: str
    kind: str


class LoadedModel(BaseModel):
    name: str
    kind: str
    device: str
    memory_bytes: int = Field(description="Resident memory its load added (process-wide).")
    idle_s: float


class Models(BaseModel):
    installed: list[InstalledModel]
    loaded: list[LoadedModel]


class Analysis(BaseModel):
    model: str
    rating: dict[str, float]
    general: dict[str, float]
    character: dict[str, float]
    embedding: list[float] | None = None


class Vector(BaseModel):
    model: str
    vector: list[float]


class TextBody(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


@router.get("/models", response_model=Models)
def models() -> dict[str, Any]:
    """Models on this machine, and those loaded now (they are released when idle)."""
    return {"installed": [vars(m) for m in inference.installed_models()],
            "loaded": [m.to_json() for m in shared().loaded()]}


@router.post("/analyse", response_model=Analysis, response_model_exclude_none=True)
async def analyse(
    request: Request, model: ModelName, id: PictureId = None, embedding: bool = False,
    general_threshold: Threshold = 0.35, character_threshold: Threshold = 0.85,
) -> dict[str, Any]:
    """A tagger's rating, general and character tags with scores for one picture (and, with
    `embedding=true`, its feature vector)."""
    data = await request.body()
    return await run_in_threadpool(_analyse, request, data, id, model, embedding,
                                   general_threshold, character_threshold)


@router.post("/embed/image", response_model=Vector)
async def embed_image(request: Request, model: ModelName, id: PictureId = None
                      ) -> dict[str, Any]:
    """A picture's vector from a CLIP model or a tagger (for other programs' indexes)."""
    data = await request.body()
    return await run_in_threadpool(_embed_image, request, data, id, model)


@router.post("/embed/text", response_model=Vector)
def embed_text(body: TextBody, model: ModelName) -> dict[str, Any]:
    """A text's vector from a CLIP model (comparable with its picture vectors)."""
    return inference.embed_text(body.text, model)


def _analyse(request: Request, data: bytes, image_id: int | None, model: str,
             embedding: bool, general: float, character: float) -> dict[str, Any]:
    image = _picture(request, data, image_id)
    return inference.analyse(image, model, embedding=embedding, general_threshold=general,
                             character_threshold=character)


def _embed_image(request: Request, data: bytes, image_id: int | None, model: str
                 ) -> dict[str, Any]:
    return inference.embed_image(_picture(request, data, image_id), model)


def _picture(request: Request, data: bytes, image_id: int | None) -> Any:
    """The decoded picture of the body or of catalogued picture `image_id`."""
    if (image_id is None) == (not data):
        raise HTTPException(400, "send a picture as the request body, or give ?id=N (not both)")
    with request.app.state.illudex.pool.use() as lib:
        if image_id is None:
            return _decode(io.BytesIO(data), "upload", lib.max_pixels)
        path = _catalogued_path(lib, image_id)
        with open(path, "rb") as f:
            return _decode(f, path, lib.max_pixels)


def _catalogued_path(lib: Library, image_id: int) -> str:
    row = rows_or_404(lib, [image_id])[image_id]
    problem = why_not(row, lib.folders(), hash_if_touched=False)
    if problem:
        raise HTTPException(409, f"{problem}; not read")
    return row.path


def _decode(fp: Any, name: str, max_pixels: int) -> Any:
    try:
        # Shrunk with a proper resample, as for tagging in a scan (taggers shrink again).
        return decode_file(fp, name, max_pixels=max_pixels).image
    except DecodeError as e:
        raise HTTPException(400, f"not a usable picture: {e}") from None
