"""Picture classifiers, CCIP and the tiled upscaler through real ONNX Runtime sessions on
tiny models with the deepghs layouts, against NumPy references of their pre-processing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illudex.analysers.ccip import CCIP
from illudex.analysers.classify import Classifier
from illudex.analysers.modelprep import ClassifyPrep
from illudex.analysers.upscale import Upscaler, tile_starts
from illudex.models.errors import ModelCorrupt, ModelMismatch
from tests.fixtures.deepghs_models import (
    ANIME_CLASSES,
    build_ccip,
    build_classifier,
    build_upscaler,
)


def test_classifier_encoding_is_imgutils_and_scores_follow_the_labels(tmp_path: Path) -> None:
    image = Image.new("RGBA", (40, 30), (255, 0, 0, 0))  # transparent: white underneath
    x = ClassifyPrep((8, 8))(image)
    assert x.shape == (3, 8, 8) and x.dtype == np.float32 and np.allclose(x, 1.0)
    red = ClassifyPrep((8, 8))(Image.new("RGB", (9, 9), (255, 0, 0)))
    assert np.allclose(red[0], 1.0) and np.allclose(red[1:], -1.0)

    classifier = Classifier.load(build_classifier(tmp_path / "cls", ANIME_CLASSES))
    colour, grey = classifier.scores([Image.new("RGB", (50, 50), "red"),
                                      Image.new("L", (50, 70), 128)])
    assert list(colour) == list(ANIME_CLASSES)
    # Reference: softmax of w * colourfulness + b; pure red has colourfulness 2, grey 0.
    for scores, col in ((colour, 2.0), (grey, 0.0)):
        logits = np.array([w * col + b for w, b in ANIME_CLASSES.values()])
        expected = np.exp(logits) / np.exp(logits).sum()
        assert list(scores.values()) == pytest.approx(list(expected), abs=1e-4)
    assert max(colour, key=colour.get) == "illustration" and max(grey, key=grey.get) == "comic"


def test_classifier_files_that_do_not_belong_together_say_so(tmp_path: Path) -> None:
    folder = build_classifier(tmp_path / "cls", ANIME_CLASSES)
    (folder / "meta.json").write_text(json.dumps({"labels": ["a", "b"]}))
    with pytest.raises(ModelMismatch, match=r"gives 5 scores but its meta\.json lists 2"):
        Classifier.load(folder).scores([Image.new("RGB", (8, 8))])
    (folder / "meta.json").unlink()
    with pytest.raises(ModelCorrupt, match=r"meta\.json"):
        Classifier.load(folder)


def test_ccip_same_colour_is_the_same_character(tmp_path: Path) -> None:
    model = CCIP.load(build_ccip(tmp_path / "ccip", threshold=0.15))
    assert model.threshold == 0.15 and model.size == 32
    feats = model.features([Image.new("RGB", (60, 80), (250, 10, 10)),
                            Image.new("RGB", (30, 30), (220, 30, 20)),
                            Image.new("RGB", (40, 40), (10, 10, 250))])
    # Reference: mean colour after CLIP normalisation; difference 0.5 * (1 - cosine).
    mean = np.array([0.48145466, 0.4578275, 0.40821073])
    std = np.array([0.26862954, 0.26130258, 0.27577711])
    ref = (np.array([[250, 10, 10], [220, 30, 20], [10, 10, 250]]) / 255 - mean) / std
    assert feats == pytest.approx(ref, abs=1e-4)
    unit = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    expected = np.clip(0.5 * (1 - unit @ unit.T), 0, 1)
    diffs = model.differences(feats)
    assert diffs == pytest.approx(expected, abs=1e-5)
    assert diffs[0, 1] <= model.threshold < diffs[0, 2]


def test_tiles_cover_the_picture_and_tiled_output_equals_the_whole(tmp_path: Path) -> None:
    assert tile_starts(100, 512, 64) == [0]
    assert tile_starts(1000, 512, 64) == [0, 448, 488]
    upscaler = Upscaler.load(build_upscaler(tmp_path / "x2.onnx"))
    assert upscaler.scale == 2
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (150, 260, 3),
                                                                 np.uint8))
    whole = np.asarray(upscaler.upscale(picture, tile=512, overlap=0))
    tiled = np.asarray(upscaler.upscale(picture, tile=64, overlap=16))
    reference = np.asarray(picture.resize((520, 300), Image.Resampling.NEAREST))
    assert tiled.shape == (300, 520, 3)
    assert np.array_equal(whole, reference) and np.array_equal(tiled, reference)
