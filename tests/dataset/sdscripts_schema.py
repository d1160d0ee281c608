"""sd-scripts' dataset-config schema, reproduced for tests (sd-scripts is no package).

Source: kohya-ss/sd-scripts, library/config_util.py, class ConfigSanitizer (commit
025347214d761d63c5475fec83e11856f3cdbe9d): the same voluptuous rules, for the
DreamBooth and fine-tuning datasets with dropout support, as `train_network.py` builds
it (`ConfigSanitizer(True, True, False, True)`). `sanitize(config)` raises
voluptuous.MultipleInvalid where sd-scripts would refuse the file.
"""

from __future__ import annotations

from typing import Any

from voluptuous import Any as AnyOf
from voluptuous import ExactSequence, Invalid, Required, Schema


def _twodim(klass: type, value: Any) -> tuple:
    Schema(ExactSequence([klass, klass]))(value)
    return tuple(value)


def _scalar_or_twodim(klass: type, value: Any) -> tuple:
    Schema(AnyOf(klass, ExactSequence([klass, klass])))(value)
    try:
        Schema(klass)(value)
        return (value, value)
    except Invalid:
        return _twodim(klass, value)


SUBSET_ASCENDABLE = {
    "color_aug": bool, "face_crop_aug_range": lambda v: _twodim(float, v), "flip_aug": bool,
    "num_repeats": int, "random_crop": bool, "shuffle_caption": bool, "keep_tokens": int,
    "keep_tokens_separator": str, "secondary_separator": str, "enable_wildcard": bool,
    "token_warmup_min": int, "token_warmup_step": AnyOf(float, int), "caption_prefix": str,
    "caption_suffix": str,
}
DO_SUBSET_ASCENDABLE = {
    "caption_dropout_every_n_epochs": int, "caption_dropout_rate": AnyOf(float, int),
    "caption_tag_dropout_rate": AnyOf(float, int),
}
DB_SUBSET_ASCENDABLE = {"caption_extension": str, "class_tokens": str, "cache_info": bool}
DB_SUBSET_DISTINCT = {Required("image_dir"): str, "is_reg": bool}
FT_SUBSET_DISTINCT = {Required("metadata_file"): str, "image_dir": str}
DATASET_ASCENDABLE = {
    "batch_size": int, "bucket_no_upscale": bool, "bucket_reso_steps": int,
    "enable_bucket": bool, "max_bucket_reso": int, "min_bucket_reso": int,
    "resolution": lambda v: _scalar_or_twodim(int, v), "network_multiplier": float,
}

DB_SUBSET = {**SUBSET_ASCENDABLE, **DB_SUBSET_DISTINCT, **DB_SUBSET_ASCENDABLE,
             **DO_SUBSET_ASCENDABLE}
FT_SUBSET = {**SUBSET_ASCENDABLE, **FT_SUBSET_DISTINCT, **DO_SUBSET_ASCENDABLE}
DB_DATASET = {**DATASET_ASCENDABLE, **SUBSET_ASCENDABLE, **DB_SUBSET_ASCENDABLE,
              **DO_SUBSET_ASCENDABLE, "subsets": [DB_SUBSET]}
FT_DATASET = {**DATASET_ASCENDABLE, **SUBSET_ASCENDABLE, **DO_SUBSET_ASCENDABLE,
              "subsets": [FT_SUBSET]}
GENERAL = {**DATASET_ASCENDABLE, **SUBSET_ASCENDABLE, **DB_SUBSET_ASCENDABLE,
           **DO_SUBSET_ASCENDABLE}


def _dataset(config: dict) -> dict:
    """sd-scripts' validate_flex_dataset: fine-tuning when every subset names a metadata
    file, DreamBooth when none does, an error when mixed."""
    subsets = config.get("subsets", [])
    if all("metadata_file" in s for s in subsets):
        return Schema(FT_DATASET)(config)
    if all("metadata_file" not in s for s in subsets):
        return Schema(DB_DATASET)(config)
    raise Invalid("DreamBooth subset and fine tuning subset cannot be mixed")


def sanitize(config: dict) -> dict:
    return Schema({"general": GENERAL, "datasets": [_dataset]})(config)
