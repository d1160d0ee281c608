"""Models as a service for other programs (the REST model API): which are installed, and
what one says about a single picture or text — nothing is stored.

Only names are taken (a registry name or an `ILLUDEX_MODELS_DIR/NAME/` folder), never
paths or repo ids: a request must not make the server load any file or download anything.
Models come from the shared pool, so a busy API keeps them loaded and an idle one frees them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from illudex.models.errors import ModelUnavailable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


@dataclass(frozen=True)
class Installed:
    name: str
    kind: str


def installed_models() -> list[Installed]:
    """Named models whose files are on this machine, then the models folder's own."""
    from illudex.models import hub, registry

    found = [Installed(i.name, i.kind) for i in registry.list_models()
             if hub.locate(registry.resolve(i.name)) is not None]
    folder = hub.models_dir()
    if folder is not None and folder.is_dir():
        known = {m.name for m in found}
        for entry in sorted(folder.iterdir()):
            kind = registry.detect_kind(entry) if entry.is_dir() else None
            if kind is not None and entry.name not in known:
                found.append(Installed(entry.name, kind))
    return found


def check_name(name: str, kind: str) -> str:
    """`name` if it names an installed model of `kind`; else `ModelUnavailable` saying why."""
    from illudex.models import hub, registry

    if not name.strip() or any(c in name for c in "/\\") or name.startswith((".", "~")):
        raise ModelUnavailable(f"{name!r}: give a model's name (see GET /api/models), "
                               "not a path")
    spec = registry.resolve(name, kind=kind)  # type: ignore[arg-type]
    if hub.locate(spec) is None:
        raise ModelUnavailable(f"model {spec.name!r} is not on this machine: "
                               f"`illudex models download {spec.name}` first")
    return name


def analyse(image: Image.Image, model: str, *, embedding: bool = False,
            general_threshold: float = 0.35, character_threshold: float = 0.85,
            device: str = "auto") -> dict[str, Any]:
    """A tagger's answer for one picture: rating, general and character tags with scores."""
    from illudex.analysers.wd_tagger import TagOptions
    from illudex.models.pool import shared

    tagger = shared().tagger(check_name(model, "tagger"), device=device)
    options = TagOptions(general_threshold=general_threshold,
                         character_threshold=character_threshold)
    [result] = tagger.tag([image], ["upload"], options)
    out: dict[str, Any] = {"model": tagger.name, "rating": _floats(result.rating),
                           "general": _floats(result.general),
                           "character": _floats(result.character)}
    if embedding:
        out["embedding"] = _vector(result.embedding)
    return out


def embed_image(image: Image.Image, model: str, device: str = "auto") -> dict[str, Any]:
    """A picture's feature vector from a CLIP model or a tagger (its last hidden layer)."""
    from illudex.models import registry
    from illudex.models.pool import shared

    kind = registry.resolve(_plain(model)).kind
    if kind == "clip":
        clip = shared().clip(check_name(model, "clip"), device=device)
        return {"model": clip.name, "vector": _vector(clip.embed_images([image])[0])}
    if kind == "embedder":  # any ONNX image model with an illudex.json (models folder)
        from illudex.analysers.embedder import OnnxEmbedder

        name = check_name(model, "embedder")
        embedder = shared().get("embedder", name, device,
                                lambda: OnnxEmbedder.load(name, device=device))
        return {"model": embedder.name, "vector": _vector(embedder.embed_images([image])[0])}
    tagger = shared().tagger(check_name(model, "tagger"), device=device)
    _, feats = tagger.predict(tagger.preprocess(image)[None])
    if feats is None:
        raise ModelUnavailable(f"tagger {tagger.name!r} gives no feature vector")
    return {"model": tagger.name, "vector": _vector(feats[0])}


def embed_text(text: str, model: str, device: str = "auto") -> dict[str, Any]:
    """A text's vector from a CLIP model (comparable with its picture vectors)."""
    from illudex.models.pool import shared

    clip = shared().clip(check_name(model, "clip"), device=device)
    return {"model": clip.name, "vector": _vector(clip.embed_text(text))}


def _plain(name: str) -> str:
    if any(c in name for c in "/\\") or name.startswith((".", "~")) or os.path.isabs(name):
        raise ModelUnavailable(f"{name!r}: give a model's name, not a path")
    return name


def _floats(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in scores.items()}


def _vector(v: np.ndarray | None) -> list[float]:
    return [] if v is None else [round(float(x), 7) for x in v.reshape(-1)]
