"""Where the files of a detector, classifier, CCIP model or upscaler are, by registry name,
repo id, folder or .onnx path: resolved and fetched through illudex's model registry and
hub (`models download`, HF_HUB_OFFLINE, $ILLUDEX_MODELS_DIR), one message when missing."""

from __future__ import annotations

import os
from pathlib import Path

from illudex.models import hub
from illudex.models.deepghs import STANDARD_FILES
from illudex.models.errors import ModelCorrupt
from illudex.models.registry import Kind, ModelSpec, resolve


def model_files(name_or_path: str | os.PathLike[str], kind: Kind, *,
                allow_download: bool = True) -> tuple[ModelSpec, list[Path]]:
    """The spec and the model's files, in the order of `STANDARD_FILES[kind]`."""
    spec = resolve(name_or_path, kind=kind)
    standard = STANDARD_FILES[kind]
    flat = _flat_in_models_dir(spec, standard)
    if flat is not None:
        return spec, flat
    where = hub.ensure(spec, allow_download=allow_download)
    if spec.local is None:
        files = [where / f for f in spec.files]
    elif where.is_file():  # the main .onnx given; side files lie next to it
        files = [where, *(where.parent / f for f in standard[1:])]
    else:
        files = [where / f for f in standard]
        if not files[0].exists():
            onnx = sorted(where.glob("*.onnx"))
            files[0] = onnx[0] if len(onnx) == 1 else files[0]
    for needed in files:
        if not needed.exists():
            raise ModelCorrupt(
                f"{kind} model {spec.name!r}: {str(needed)!r} is missing; a {kind} model "
                f"needs {', '.join(standard)} side by side")
    return spec, files


def _flat_in_models_dir(spec: ModelSpec, standard: tuple[str, ...]) -> list[Path] | None:
    """`$ILLUDEX_MODELS_DIR/NAME/model.onnx` (…) for a registry name: the files of a repo
    sub-folder copied by hand, without the sub-folder."""
    folder = hub.models_dir()
    if spec.local is not None or folder is None:
        return None
    files = [folder / spec.name / f for f in standard]
    return files if all(f.exists() for f in files) else None
