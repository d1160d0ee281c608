"""Finding a model's files on disk, or downloading them from Hugging Face into its cache.

Where a model is looked for, in order: a path given by the user; `$ILLUDEX_MODELS_DIR/NAME/`;
the Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`). Only then is it downloaded,
and never when `HF_HUB_OFFLINE=1`. Environment variables are read at call time (not at
import time, as huggingface_hub does), so a setting made after start-up is honoured.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from illudex.models.errors import ModelUnavailable
from illudex.models.registry import (
    MODELS_DIR_ENV,
    ModelSpec,
    default_model,
    find_info,
    resolve,
)

_TRUE = {"1", "on", "yes", "true"}


def is_offline() -> bool:
    """True when downloads are off (`HF_HUB_OFFLINE`, as huggingface_hub reads it)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) and "HF_HUB_OFFLINE" not in os.environ


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, from the environment as it is now."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def models_dir() -> Path | None:
    value = os.environ.get(MODELS_DIR_ENV)
    return Path(value).expanduser() if value else None


def locate(spec: ModelSpec) -> Path | None:
    """The folder (or file) holding `spec`'s files without any network access, or None."""
    if spec.local is not None:
        return spec.local
    user_dir = models_dir()
    if user_dir is not None:
        for candidate in (user_dir / spec.name, user_dir / spec.repo_id.replace("/", "--")):
            if all((candidate / f).exists() for f in _required(spec)):
                return candidate
    return _in_hf_cache(spec)


def ensure(spec: ModelSpec, *, allow_download: bool = True, progress: bool = True) -> Path:
    """The folder (or file) holding `spec`'s files, downloading them if allowed and needed."""
    found = locate(spec)
    if found is not None:
        return found
    if is_offline():
        raise ModelUnavailable(unavailable_message(spec, "downloads are off (HF_HUB_OFFLINE=1)"))
    if not allow_download:
        raise ModelUnavailable(unavailable_message(spec, "downloading was not allowed"))
    return _download(spec, progress)


def download(name: str, progress: bool = True) -> Path:
    """Fetch model `name` (or make sure a local path is complete); returns its folder."""
    spec = resolve(name or default_model("tagger"))
    return ensure(spec, progress=progress)


@dataclass(frozen=True)
class ModelStatus:
    """What `illudex models info NAME` shows: the spec, where it lies (if anywhere), size."""

    spec: ModelSpec
    location: Path | None  # None: not on this machine
    size_bytes: int  # of the files found
    description: str = ""

    @property
    def available(self) -> bool:
        return self.location is not None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.spec.name, "kind": self.spec.kind, "repo_id": self.spec.repo_id,
            "local": str(self.spec.local) if self.spec.local else None,
            "location": str(self.location) if self.location else None,
            "available": self.available, "size_bytes": self.size_bytes,
            "files": list(self.spec.files), "description": self.description,
        }


def status(name_or_path: str) -> ModelStatus:
    """Where model `name_or_path` is on this machine (no network), and its size."""
    spec = resolve(name_or_path)
    location = locate(spec)
    size = 0
    if location is not None:
        files = [location] if location.is_file() else [location / f for f in spec.files]
        size = sum(f.stat().st_size for f in files if f.exists())
    info = find_info(spec.name) if spec.repo_id else None
    return ModelStatus(spec, location, size, info.description if info else "")


def unavailable_message(spec: ModelSpec, reason: str) -> str:
    """One message: which model, where it was looked for, how to provide it."""
    user_dir = models_dir()
    places = [
        f"{MODELS_DIR_ENV}={user_dir}/{spec.name}/" if user_dir else f"{MODELS_DIR_ENV} (not set)",
        f"the Hugging Face cache {hf_cache_dir()} (set by HF_HOME / HF_HUB_CACHE)",
    ]
    files = ", ".join(spec.files)
    return (
        f"model {spec.name!r} ({spec.repo_id}) is not available: {reason}.\n"
        f"  Looked in: {'; '.join(places)}.\n"
        "  To provide it: run `illudex models download "
        f"{spec.name}` on a connected machine (then copy its Hugging Face cache here, "
        f"or set {MODELS_DIR_ENV} to a folder holding {spec.name}/), or pass the path of "
        f"a folder holding {files}."
    )


def _required(spec: ModelSpec) -> tuple[str, ...]:
    """Files that must exist; a tokenizer_config.json is optional (pad id defaults to 0)."""
    return tuple(f for f in spec.files if not f.endswith("tokenizer_config.json"))


def _in_hf_cache(spec: ModelSpec) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    assert spec.repo_id is not None
    folder: Path | None = None
    for filename in _required(spec):
        hit = try_to_load_from_cache(spec.repo_id, filename, cache_dir=hf_cache_dir())
        if not isinstance(hit, str):
            return None
        root = Path(hit)
        for _ in Path(filename).parts:
            root = root.parent
        if folder is not None and root != folder:
            return None  # files from different revisions: download again to make them match
        folder = root
    return folder


class _SilentTqdm(tqdm):  # type: ignore[type-arg]
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


def _download(spec: ModelSpec, progress: bool) -> Path:
    from huggingface_hub import hf_hub_download

    assert spec.repo_id is not None
    folder: Path | None = None
    for filename in spec.files:
        try:
            path = hf_hub_download(
                spec.repo_id, filename, cache_dir=hf_cache_dir(),
                endpoint=os.environ.get("HF_ENDPOINT") or None,  # a mirror, read now
                tqdm_class=None if progress else _SilentTqdm,
            )
        except Exception as e:  # network, missing repo, missing file, disk full ...
            if filename.endswith("tokenizer_config.json"):
                continue  # optional
            reason = f"downloading {filename} from {spec.repo_id} failed: {_short(e)}"
            raise ModelUnavailable(unavailable_message(spec, reason)) from e
        root = Path(str(path))
        for _ in Path(filename).parts:
            root = root.parent
        folder = folder or root
    assert folder is not None
    return folder


def _short(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"
