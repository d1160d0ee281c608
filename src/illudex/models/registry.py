"""The registry of named models, and turning a name or a path into a `ModelSpec`.

A path (a folder or an .onnx file that exists) always wins over a name. Names are the
known WD taggers (SmilingWolf, v2 and v3) and CLIP-style ONNX exports with the
visual/textual layout; any Hugging Face repo id ("owner/name") is accepted too, its kind
guessed from the name or given by the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from illudex.models.errors import ModelUnavailable
from illudex.models.info import Kind, ModelInfo

# Kinds whose model is one plain ONNX file (+ small side files), loaded by
# illudex.analysers.{detect,classify,ccip,upscale}: a path to any .onnx file or folder
# holding their files is accepted as that kind (the caller says which).
ONNX_KINDS: tuple[Kind, ...] = ("detector", "classifier", "ccip", "upscaler")

MODELS_DIR_ENV = "ILLUDEX_MODELS_DIR"
DEFAULT_TAGGER = "wd-swinv2-tagger-v3"
DEFAULT_CLIP = "ViT-B-32__openai"

TAGGER_FILES = ("model.onnx", "selected_tags.csv")
CLIP_FILES = (
    "config.json",
    "visual/model.onnx",
    "visual/preprocess_cfg.json",
    "textual/model.onnx",
    "textual/tokenizer.json",
    "textual/tokenizer_config.json",
)


@dataclass(frozen=True)
class ModelSpec:
    """What to load: either a Hugging Face repo (+ files) or a local folder/file."""

    name: str  # stored in the catalog as source 'model:NAME'
    kind: Kind
    repo_id: str | None = None
    local: Path | None = None  # a folder, or a tagger's model.onnx file
    files: tuple[str, ...] = field(default=())

    @property
    def is_local(self) -> bool:
        return self.local is not None


def _tagger(name: str, desc: str, n_tags: int, dim: int, default: bool = False) -> ModelInfo:
    return ModelInfo(name, "tagger", f"SmilingWolf/{name}", desc, n_tags, dim, default)


def _clip(name: str, desc: str, dim: int, default: bool = False) -> ModelInfo:
    return ModelInfo(name, "clip", f"immich-app/{name}", desc, None, dim, default)


_KNOWN: tuple[ModelInfo, ...] = (
    _tagger("wd-swinv2-tagger-v3", "WD SwinV2 v3: good default", 10861, 1024, default=True),
    _tagger("wd-vit-tagger-v3", "WD ViT-B v3", 10861, 768),
    _tagger("wd-convnext-tagger-v3", "WD ConvNeXt v3", 10861, 1024),
    _tagger("wd-vit-large-tagger-v3", "WD ViT-L v3: slower, more accurate", 10861, 1024),
    _tagger("wd-eva02-large-tagger-v3", "WD EVA02-L v3: slowest, most accurate", 10861, 1024),
    _tagger("wd-v1-4-moat-tagger-v2", "WD MOAT v2", 9083, 1024),
    _tagger("wd-v1-4-swinv2-tagger-v2", "WD SwinV2 v2", 9083, 1024),
    _tagger("wd-v1-4-convnextv2-tagger-v2", "WD ConvNeXtV2 v2", 9083, 1024),
    _tagger("wd-v1-4-convnext-tagger-v2", "WD ConvNeXt v2", 9083, 1024),
    _tagger("wd-v1-4-vit-tagger-v2", "WD ViT v2", 9083, 768),
    _clip("ViT-B-32__openai", "OpenAI CLIP ViT-B/32 (text search)", 512, default=True),
    _clip("ViT-B-16__openai", "OpenAI CLIP ViT-B/16", 512),
    _clip("ViT-L-14__openai", "OpenAI CLIP ViT-L/14: slower, better", 768),
)


def _deepghs() -> tuple[ModelInfo, ...]:
    from illudex.models.deepghs import models

    return models()


def _known() -> tuple[ModelInfo, ...]:
    return _KNOWN + _deepghs()


def list_models(kind: Kind | None = None) -> list[ModelInfo]:
    """The named models illudex knows, taggers first; `kind` filters."""
    return [m for m in _known() if kind is None or m.kind == kind]


def default_model(kind: Kind) -> str:
    return DEFAULT_TAGGER if kind == "tagger" else DEFAULT_CLIP


def find_info(name: str) -> ModelInfo | None:
    """The registry entry for a name or repo id (case-insensitive), or None."""
    wanted = name.strip().lower()
    for info in _known():
        if wanted in (info.name.lower(), info.repo_id.lower()):
            return info
    return None


def resolve(name_or_path: str | os.PathLike[str], kind: Kind | None = None) -> ModelSpec:
    """A name, repo id or path → what to load. Raises `ModelUnavailable` for unknown names."""
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    info = find_info(text)
    # A path wins; only a folder that holds no model does not hide a known name.
    if path.exists() and (info is None or detect_kind(path) is not None):
        return _local_spec(path, kind)
    in_models_dir = _in_models_dir(text)
    if info is None and in_models_dir is not None:
        return _local_spec(in_models_dir, kind)  # any name, not only the known ones
    if info is not None:
        if kind is not None and info.kind != kind:
            raise ModelUnavailable(
                f"model {info.name!r} is a {info.kind} model, not a {kind} model; "
                f"see `illudex models list`"
            )
        return ModelSpec(info.name, info.kind, info.repo_id, None,
                         info.files or _files(info.kind))
    if _looks_like_repo_id(text):
        guessed: Kind = kind or ("tagger" if "tagger" in text.lower() else "clip")
        return ModelSpec(text.split("/")[-1], guessed, text, None, _files(guessed))
    if _looks_like_path(text):
        raise ModelUnavailable(
            f"model path {str(path)!r} does not exist: give an existing folder (with "
            f"{' + '.join(TAGGER_FILES)} for a tagger, or the visual/ textual/ layout for "
            "CLIP) or a model name from `illudex models list`"
        )
    known = ", ".join(m.name for m in list_models(kind))
    raise ModelUnavailable(
        f"unknown model {text!r}: use a name from `illudex models list` ({known}), "
        "a Hugging Face repo id like 'owner/name', or the path of a model folder"
    )


def _in_models_dir(name: str) -> Path | None:
    """`$ILLUDEX_MODELS_DIR/NAME/` when it holds a model (a plain name only)."""
    folder = os.environ.get(MODELS_DIR_ENV)
    if not folder or not name or _looks_like_path(name) or name in (".", ".."):
        return None
    candidate = Path(folder).expanduser() / name
    return candidate if candidate.is_dir() and detect_kind(candidate) is not None else None


def model_source(name_or_path: str | os.PathLike[str]) -> str:
    """What to store to load this model again from any folder: an existing path made
    absolute, a name as it is."""
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.exists() and (find_info(text) is None or detect_kind(path) is not None):
        return str(path.resolve())
    return text


def _files(kind: Kind) -> tuple[str, ...]:
    if kind in ONNX_KINDS:
        from illudex.models.deepghs import STANDARD_FILES

        return STANDARD_FILES[kind]
    return TAGGER_FILES if kind == "tagger" else CLIP_FILES


def _looks_like_repo_id(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "~"))


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.endswith(".onnx") or text.startswith((".", "~"))


def _local_spec(path: Path, kind: Kind | None) -> ModelSpec:
    path = path.resolve()
    if kind in ONNX_KINDS:
        return _onnx_local_spec(path, kind)
    detected = detect_kind(path)
    if detected is None:
        raise ModelUnavailable(
            f"{str(path)!r} is not a model illudex can load: a tagger folder holds "
            f"{' and '.join(TAGGER_FILES)}; a CLIP folder holds config.json, "
            "visual/model.onnx and textual/model.onnx (+ tokenizer.json)"
        )
    if kind is not None and detected != kind:
        raise ModelUnavailable(f"{str(path)!r} holds a {detected} model, not a {kind} model")
    # "model.onnx" says nothing: its folder names it (as in "wd-vit-tagger-v3/model.onnx")
    name = path.parent.name if path.is_file() and path.stem == "model" else \
        path.stem if path.is_file() else path.name
    return ModelSpec(name, detected, None, path, _files(detected))


def detect_kind(path: Path) -> Kind | None:
    """What a local folder or file is: a tagger, a CLIP layout, or neither (None)."""
    if path.is_file():
        return "tagger" if path.suffix.lower() == ".onnx" else None
    if (path / "visual" / "model.onnx").exists() or (path / "textual" / "model.onnx").exists():
        return "clip"
    if (path / "illudex.json").exists():  # any ONNX image model (analysers/embedder.py)
        return "embedder"
    if (path / "model.onnx").exists() or (path / "selected_tags.csv").exists():
        return "tagger"
    return None


def _onnx_local_spec(path: Path, kind: Kind) -> ModelSpec:
    """A detector / classifier / CCIP / upscaler given as a file or a folder: the loader
    (illudex.analysers) finds its files and says clearly which one is missing."""
    if path.is_file() and path.suffix.lower() != ".onnx":
        raise ModelUnavailable(f"{str(path)!r} is not an .onnx file (a {kind} model)")
    if path.is_dir() and not any(path.glob("*.onnx")):
        raise ModelUnavailable(f"{str(path)!r} holds no .onnx file (a {kind} model)")
    name = path.parent.name if path.is_file() and path.stem in ("model", "model_feat") \
        else path.stem if path.is_file() else path.name
    return ModelSpec(name, kind, None, path, ())
