"""sd-scripts' dataset config (`dataset.toml`) for a kohya export.

The keys and types follow sd-scripts' own schema (library/config_util.py,
`ConfigSanitizer`: `general`, `datasets`, `datasets.subsets`); tests validate what is
written here against that schema with voluptuous, as sd-scripts does when it loads it.
"""

from __future__ import annotations

import json
from typing import Any

from illudex.dataset.spec import ExportSpec


def dataset_config(export: ExportSpec, subsets: list[dict[str, Any]]) -> dict[str, Any]:
    """`subsets`: {"image_dir", "num_repeats", "class_tokens", "is_reg"?} or
    {"image_dir", "metadata_file"} (fine-tuning)."""
    general: dict[str, Any] = {"shuffle_caption": False, "keep_tokens": export.keep_tokens}
    if not any("metadata_file" in s for s in subsets):
        # sd-scripts reads `.caption` files unless told otherwise; ours are `.txt`.
        general["caption_extension"] = ".txt"
    resolution = export.resolution
    dataset: dict[str, Any] = {
        "resolution": list(resolution) if isinstance(resolution, tuple) else resolution,
        "batch_size": 1, "enable_bucket": export.enable_bucket,
        "min_bucket_reso": export.min_bucket_reso, "max_bucket_reso": export.max_bucket_reso,
        "bucket_reso_steps": export.bucket_reso_steps,
        "bucket_no_upscale": export.bucket_no_upscale,
        "subsets": subsets,
    }
    return {"general": general, "datasets": [dataset]}


def to_toml(config: dict[str, Any]) -> str:
    """The few shapes a dataset config has: tables of scalars and lists of tables."""
    lines: list[str] = []
    _table(lines, "", config)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(lines: list[str], prefix: str, table: dict[str, Any]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict | list) or (isinstance(value, list)
                                                 and not any(isinstance(v, dict) for v in value)):
            lines.append(f"{key} = {_value(value)}")
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            lines += ["", f"[{name}]"]
            _table(lines, name, value)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for entry in value:
                lines += ["", f"[[{name}]]"]
                _table(lines, name, entry)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    # A JSON string is a valid TOML basic string (same escapes) once non-ASCII stays as is.
    return json.dumps(str(value), ensure_ascii=False)
