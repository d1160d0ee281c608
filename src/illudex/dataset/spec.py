"""The dataset spec: a source, steps in order, an exporter (TOML or built in Python).

    [source]
    query = "1girl solo -monochrome"     # or: paths = ["~/art"], ids = [1, 2], [source.booru]
    [[step]]
    use = "align-min-size"
    size = 768
    [export]
    format = "kohya"
    dir = "~/datasets/surtr"
    [reg]                                # optional: regularisation pictures (kohya is_reg)
    query = "1girl -surtr"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from illudex.dataset.errors import DatasetError

FORMATS = ("kohya", "kohya-finetune", "textual-inversion", "hf-imagefolder", "files")
MODES = ("link", "copy", "encode")


@dataclass(frozen=True)
class SourceSpec:
    query: str | None = None
    paths: tuple[str, ...] = ()
    ids: tuple[int, ...] = ()
    booru: dict[str, Any] | None = None
    repeats: int | None = None  # [reg] only: its own num_repeats
    name: str | None = None  # [reg] only: its class folder name

    def describe(self) -> str:
        if self.booru is not None:
            return f"booru {self.booru.get('site', '?')}: {self.booru.get('tags', '')}"
        if self.paths:
            return "folders " + ", ".join(self.paths)
        if self.ids:
            return f"{len(self.ids)} chosen picture(s)"
        return f"query {self.query!r}"


@dataclass(frozen=True)
class StepSpec:
    use: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportSpec:
    format: str = "kohya"
    dir: str = ""
    name: str = "dataset"
    repeats: int = 1
    mode: str = "link"  # link (hard link where possible) | copy | encode
    image_format: str = "png"  # for pictures the steps changed, or mode = "encode"
    quality: int = 95
    flatten_alpha: bool = True
    class_tokens: str | None = None
    keep_tokens: int = 0
    resolution: int | tuple[int, int] = 512
    enable_bucket: bool = True
    min_bucket_reso: int = 256
    max_bucket_reso: int = 1024
    bucket_reso_steps: int = 64
    bucket_no_upscale: bool = True


@dataclass(frozen=True)
class Spec:
    source: SourceSpec
    steps: tuple[StepSpec, ...]
    export: ExportSpec
    reg: SourceSpec | None = None

    @property
    def out(self) -> Path:
        return Path(os.path.expanduser(self.export.dir)).absolute()


def load_spec(path: str | Path) -> Spec:
    try:
        with open(os.path.expanduser(str(path)), "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read the spec: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: not valid TOML: {e}") from None
    return parse_spec(data)


def parse_spec(data: dict[str, Any]) -> Spec:
    unknown = set(data) - {"source", "step", "export", "reg"}
    if unknown:
        raise DatasetError(f"unknown spec section(s): {', '.join(sorted(unknown))}; "
                           "a spec has [source], [[step]], [export] and [reg]")
    if "source" not in data:
        raise DatasetError("the spec needs a [source]: query, paths, ids or [source.booru]")
    steps = data.get("step", [])
    if not isinstance(steps, list):
        raise DatasetError("steps are written [[step]] (a list), each with use = \"NAME\"")
    return Spec(
        source=_source(data["source"], "source"),
        steps=tuple(_step(s, n) for n, s in enumerate(steps, start=1)),
        export=_export(data.get("export", {})),
        reg=_source(data["reg"], "reg") if "reg" in data else None,
    )


def _source(raw: Any, where: str) -> SourceSpec:
    if not isinstance(raw, dict):
        raise DatasetError(f"[{where}] must be a table")
    known = {"query", "paths", "ids", "booru", "repeats", "name"}
    _no_unknown(raw, known, f"[{where}]")
    given = [k for k in ("query", "paths", "ids", "booru") if raw.get(k) not in (None, [], "")]
    if len(given) != 1:
        raise DatasetError(f"[{where}] needs exactly one of query, paths, ids or booru "
                           f"(got {', '.join(given) or 'none'})")
    paths = raw.get("paths", [])
    if isinstance(paths, str):
        paths = [paths]
    return SourceSpec(
        query=_typed(raw, "query", str, where, None), paths=tuple(str(p) for p in paths),
        ids=tuple(int(i) for i in raw.get("ids", [])),
        booru=_typed(raw, "booru", dict, where, None),
        repeats=_typed(raw, "repeats", int, where, None),
        name=_typed(raw, "name", str, where, None),
    )


def _step(raw: Any, n: int) -> StepSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("use"), str):
        raise DatasetError(f"step {n}: needs use = \"STEP-NAME\" (see `illudex dataset steps`)")
    params = {k: v for k, v in raw.items() if k != "use"}
    return StepSpec(raw["use"], params)


def _export(raw: Any) -> ExportSpec:
    if not isinstance(raw, dict):
        raise DatasetError("[export] must be a table")
    defaults = ExportSpec()
    _no_unknown(raw, set(defaults.__dataclass_fields__), "[export]")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        wanted = type(getattr(defaults, key))
        if key == "resolution" and isinstance(value, list) and len(value) == 2:
            value = (int(value[0]), int(value[1]))
        elif key == "class_tokens":
            value = str(value)
        elif not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise DatasetError(f"[export] {key} must be a {wanted.__name__}, not {value!r}")
        values[key] = value
    spec = ExportSpec(**values)
    if spec.format not in FORMATS:
        raise DatasetError(f"[export] format must be one of {', '.join(FORMATS)}, "
                           f"not {spec.format!r}")
    if spec.mode not in MODES:
        raise DatasetError(f"[export] mode must be one of {', '.join(MODES)}, not {spec.mode!r}")
    if not spec.dir.strip():
        raise DatasetError("[export] needs dir = \"FOLDER\" (where the dataset is written)")
    if spec.repeats < 1:
        raise DatasetError("[export] repeats must be at least 1")
    return spec


def _typed(raw: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = raw.get(key, default)
    if value is not None and not isinstance(value, kind):
        raise DatasetError(f"[{where}] {key} must be a {kind.__name__}, not {value!r}")
    return value


def _no_unknown(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = set(raw) - known
    if unknown:
        raise DatasetError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                           f"known: {', '.join(sorted(known))}")
