"""The deepghs ONNX models illudex knows by name: detectors, picture classifiers, CCIP and
an upscaler (the models waifuc reaches through dghs-imgutils).

Repos, files, thresholds and pre-processing were read from imgutils' source
(imgutils/generic/yolo.py, generic/classify.py, metrics/ccip.py, upscale/cdc.py and the
detect/*, validate/* callers); see docs/decisions.md "Model-backed dataset steps". A
model folder of one repo holds its files under a sub-folder (`face_detect_v1.4_s/…`).
"""

from __future__ import annotations

import functools

from illudex.models.info import Kind, ModelInfo

# The files of one model of each kind, relative to its folder (a local folder, or the
# sub-folder of its repo).
STANDARD_FILES: dict[str, tuple[str, ...]] = {
    "detector": ("model.onnx",),  # labels and imgsz are in the ONNX metadata
    "classifier": ("model.onnx", "meta.json"),  # meta.json: {"labels": [...]}
    "ccip": ("model_feat.onnx", "model_metrics.onnx", "metrics.json"),
    "upscaler": ("model.onnx",),
}

DEFAULT_FACE = "face_detect_v1.4_s"
DEFAULT_HEAD = "head_detect_v2.0_s"
DEFAULT_PERSON = "person_detect_v1.1_m"
DEFAULT_HALFBODY = "halfbody_detect_v1.0_s"
DEFAULT_CLASSIFY = "anime_classification-mobilenetv3_v1.5_dist"
DEFAULT_REAL = "anime_real_cls-mobilenetv3_v1.4_dist"
DEFAULT_MONOCHROME = "monochrome_detect-mobilenetv3_large_100_dist_safe2"
DEFAULT_CCIP = "ccip-caformer-24-randaug-pruned"
DEFAULT_UPSCALER = "cdc-HGSR-MHR-anime-aug_X4_320"
DEFAULT_AESTHETIC = "anime_aesthetic-swinv2pv3_v0_448_ls0.2_x"


def _info(name: str, kind: Kind, repo: str, folder: str, about: str, licence: str,
          default: bool = False) -> ModelInfo:
    files = tuple(f"{folder}/{f}" for f in STANDARD_FILES[kind])
    return ModelInfo(name, kind, repo, about, default=default, files=files, licence=licence)


@functools.cache
def models() -> tuple[ModelInfo, ...]:
    """The entries (built on first use)."""
    mit, unstated = "MIT (model card)", "unstated: check the model card before shipping"
    return (
        _info(DEFAULT_FACE, "detector", "deepghs/anime_face_detection", DEFAULT_FACE,
              "YOLOv8 anime faces (imgutils detect_faces: conf 0.25, IoU 0.7)", mit, True),
        _info("face_detect_v1.4_n", "detector", "deepghs/anime_face_detection",
              "face_detect_v1.4_n", "YOLOv8n anime faces: faster, less accurate", mit),
        _info(DEFAULT_HEAD, "detector", "deepghs/anime_head_detection", DEFAULT_HEAD,
              "YOLO anime heads (imgutils detect_heads: conf 0.4, IoU 0.7)", unstated, True),
        _info(DEFAULT_PERSON, "detector", "deepghs/anime_person_detection", DEFAULT_PERSON,
              "YOLOv8 anime people (imgutils detect_person: conf 0.3, IoU 0.5)", mit, True),
        _info(DEFAULT_HALFBODY, "detector", "deepghs/anime_halfbody_detection",
              DEFAULT_HALFBODY, "YOLOv8 upper bodies (three-stage-split; conf 0.5)",
              "OpenRAIL (third-party note; unconfirmed)"),
        _info(DEFAULT_CLASSIFY, "classifier", "deepghs/anime_classification",
              "mobilenetv3_v1.5_dist", "picture class: 3d, bangumi, comic, illustration, "
              "not_painting", mit, True),
        _info(DEFAULT_REAL, "classifier", "deepghs/anime_real_cls", "mobilenetv3_v1.4_dist",
              "anime or real photo", unstated),
        _info(DEFAULT_MONOCHROME, "classifier", "deepghs/monochrome_detect",
              "mobilenetv3_large_100_dist_safe2", "monochrome or colour (model-based)",
              unstated),
        _info(DEFAULT_CCIP, "ccip", "deepghs/ccip_onnx", DEFAULT_CCIP,
              "CCIP character similarity (threshold in metrics.json)", "OpenRAIL (model card)",
              True),
        # Quality (analysers/quality.py): a classifier plus its score percentiles.
        ModelInfo("anime_aesthetic-swinv2pv3_v0_448_ls0.2_x", "classifier",
                  "deepghs/anime_aesthetic", "anime aesthetic quality (worst … masterpiece; "
                  "imgutils anime_dbaesthetic)",
                  files=tuple(f"swinv2pv3_v0_448_ls0.2_x/{f}" for f in
                              ("model.onnx", "meta.json", "samples.npz")), licence=unstated),
        # The CDC upscalers are single files at the repo root, not model folders.
        ModelInfo(DEFAULT_UPSCALER, "upscaler", "deepghs/cdc_anime_onnx",
                  "CDC 4x anime upscaler (slow on CPU: tiles of 512, overlap 64)",
                  default=True, files=("HGSR-MHR-anime-aug_X4_320.onnx",), licence=unstated),
    )

