"""The YOLOv8 detector through a real ONNX Runtime session on a tiny model with the
export's layout: letterbox and its inverse, NMS, labels from metadata, loading by name
(download from a local stand-in hub, then offline), folder and .onnx path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from illudex.analysers.detect import Box, Detector, letterbox, nms, parse_names
from illudex.models import hub
from illudex.models.errors import ModelUnavailable
from tests.fixtures.deepghs_models import build_detector
from tests.fixtures.fake_hub import fake_hub


def squares(size: tuple[int, int], red: tuple[int, int, int, int],
            blue: tuple[int, int, int, int] | None = None) -> Image.Image:
    """A white picture with a red square (and a blue one); boxes are x0, y0, x1, y1
    with x1, y1 exclusive."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((red[0], red[1], red[2] - 1, red[3] - 1), fill=(255, 0, 0))
    if blue:
        draw.rectangle((blue[0], blue[1], blue[2] - 1, blue[3] - 1), fill=(0, 0, 255))
    return image


def test_letterbox_matches_a_numpy_reference() -> None:
    image = Image.fromarray(np.random.default_rng(1).integers(0, 255, (60, 200, 3), np.uint8))
    out, place = letterbox(image, (100, 100))
    # ultralytics: r = min(100/60, 100/200) = 0.5 → 100 x 30; (100 - 30) / 2 = 35 rows
    # of grey 114 above, 35 below.
    assert out.shape == (100, 100, 3)
    assert (out[:35] == 114).all() and (out[65:] == 114).all()
    reference = np.asarray(image.resize((100, 30), Image.Resampling.BILINEAR))
    assert np.array_equal(out[35:65], reference)
    assert (place.scale_x, place.scale_y, place.pad_x, place.pad_y) == (0.5, 0.5, 0, 35)


def test_a_red_square_comes_back_where_it_was_drawn(tmp_path: Path) -> None:
    detector = Detector.load(build_detector(tmp_path / "det.onnx", size=128))
    assert detector.labels == ["face"] and detector.size == (128, 128)
    wide = squares((512, 320), (200, 100, 296, 196), blue=(20, 20, 60, 60))
    tall = wide.transpose(Image.Transpose.TRANSPOSE)  # padding left and right instead
    found_wide, found_tall = detector.detect([wide, tall])
    # Anchor 1 (the red box shifted, 0.9) is suppressed by NMS; the junk one is under 0.25.
    assert sorted((b.x0, b.y0, b.x1, b.y1) for b in found_wide) == \
        [(20, 20, 60, 60), (200, 100, 296, 196)]
    assert sorted((b.x0, b.y0, b.x1, b.y1) for b in found_tall) == \
        [(20, 20, 60, 60), (100, 200, 196, 296)]
    assert all(b.label == "face" and b.score == pytest.approx(1.0) for b in found_wide)


def test_stretch_is_imgutils_resize_and_maps_back_too(tmp_path: Path) -> None:
    detector = Detector.load(build_detector(tmp_path / "det.onnx", size=128), resize="stretch")
    (box,) = detector.detect([squares((512, 256), (256, 128, 384, 192))])[0]
    assert (box.x0, box.y0, box.x1, box.y1) == (256, 128, 384, 192)


def test_no_square_no_detection_and_a_fixed_batch_model_takes_many(tmp_path: Path) -> None:
    detector = Detector.load(build_detector(tmp_path / "det.onnx", fixed_batch=True))
    assert detector.fixed_batch == 1
    found = detector.detect([Image.new("RGB", (90, 70), "white"),
                             squares((256, 256), (64, 64, 128, 128)),
                             Image.new("RGBA", (50, 80), (255, 0, 0, 255))])
    assert [len(f) for f in found] == [0, 1, 1]
    assert (found[2][0].x0, found[2][0].y0, found[2][0].x1, found[2][0].y1) == (0, 0, 50, 80)


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    scores = np.array([0.8, 0.9, 0.7, 0.1])
    assert nms(boxes, scores, 0.5) == [1, 2]
    assert nms(boxes, scores, 0.99) == [1, 0, 2]  # identical boxes: IoU 1 > 0.99


def test_names_metadata_is_read_as_literals_only() -> None:
    assert parse_names("{0: 'face', 1: 'head'}") == ["face", "head"]
    assert parse_names("__import__('os').system('true')") == []
    assert Box.from_json(Box(1, 2, 3, 4, "face", 0.5).to_json()) == Box(1, 2, 3, 4, "face", 0.5)


def test_a_folder_or_onnx_path_loads_and_a_missing_name_says_how_to_get_it(
    tmp_path: Path,
) -> None:
    build_detector(tmp_path / "my-face" / "model.onnx")
    assert Detector.load(tmp_path / "my-face").name == "my-face"
    assert Detector.load(tmp_path / "my-face" / "model.onnx").name == "my-face"
    with pytest.raises(ModelUnavailable) as e:
        Detector.load("face_detect_v1.4_s")  # offline, not in any cache
    message = str(e.value)
    assert "HF_HUB_OFFLINE" in message and "illudex models download face_detect_v1.4_s" in message
    with pytest.raises(ModelUnavailable, match="is a detector model, not a classifier"):
        from illudex.analysers.classify import Classifier

        Classifier.load("face_detect_v1.4_s")


def test_a_registry_name_is_found_flat_in_the_models_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_detector(tmp_path / "models" / "head_detect_v2.0_s" / "model.onnx", size=64)
    monkeypatch.setenv("ILLUDEX_MODELS_DIR", str(tmp_path / "models"))
    detector = Detector.load("head_detect_v2.0_s")  # offline: never asks the hub
    assert detector.size == (64, 64) and detector.spec.repo_id == "deepghs/anime_head_detection"


def test_models_download_fetches_the_repo_subfolder_then_loads_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    served = tmp_path / "served"
    build_detector(served / "face_detect_v1.4_s" / "model.onnx", size=96)
    with fake_hub(served) as (endpoint, requests):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        hub.download("face_detect_v1.4_s", progress=False)
    assert any("/deepghs/anime_face_detection/resolve/main/face_detect_v1.4_s/model.onnx" in r
               for r in requests)
    shutil.rmtree(served)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert Detector.load("face_detect_v1.4_s").size == (96, 96)


def test_the_registry_records_repo_files_licence_and_kind_of_each_deepghs_model() -> None:
    from illudex.models.registry import find_info, list_models, resolve

    detectors = {m.name: m for m in list_models("detector")}
    assert {"face_detect_v1.4_s", "head_detect_v2.0_s", "person_detect_v1.1_m",
            "halfbody_detect_v1.0_s"} <= set(detectors)
    face = detectors["face_detect_v1.4_s"]
    assert face.repo_id == "deepghs/anime_face_detection" and face.licence.startswith("MIT")
    assert resolve("face_detect_v1.4_s").files == ("face_detect_v1.4_s/model.onnx",)
    ccip = find_info("ccip-caformer-24-randaug-pruned")
    assert ccip is not None and ccip.kind == "ccip" and ccip.files == (
        "ccip-caformer-24-randaug-pruned/model_feat.onnx",
        "ccip-caformer-24-randaug-pruned/model_metrics.onnx",
        "ccip-caformer-24-randaug-pruned/metrics.json")
    assert all(m.licence for m in list_models() if m.repo_id.startswith("deepghs/"))
    # An unknown repo id of a given kind gets that kind's standard files.
    assert resolve("someone/detector", kind="detector").files == ("model.onnx",)
