"""The quality score: a deepghs aesthetic classifier of the real layout (meta.json labels
worst … masterpiece, samples.npz percentiles), through the real ONNX Runtime path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illudex.analysers.quality import (
    AESTHETIC_LABELS,
    DEFAULT_AESTHETIC,
    QualityScorer,
    raw_score,
)
from illudex.models.errors import ModelMismatch
from illudex.models.registry import find_info
from tests.fixtures.deepghs_models import MONOCHROME, build_classifier

# Colourful pictures lean to the top labels; grey ones sit on "normal" (colourfulness: red 2).
WEIGHTS = {label: (2.0 * (i - 3), -abs(i - 3) * 0.5) for i, label in enumerate(AESTHETIC_LABELS)}
X = np.array([0.0, 1, 2, 3, 4, 5, 6])
Y = np.array([0.0, 0.05, 0.2, 0.5, 0.8, 0.9, 1.0])


def aesthetic(folder: Path, samples: bool = True) -> Path:
    folder.mkdir()
    build_classifier(folder, WEIGHTS)
    if samples:
        np.savez(folder / "samples.npz", np.stack([X, Y]))
    return folder


def test_quality_is_the_percentile_of_the_expected_label(tmp_path: Path) -> None:
    scorer = QualityScorer.load(aesthetic(tmp_path / "aes"))
    red, grey = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (128,) * 3)
    probs = scorer.classifier.scores([red, grey])
    expected = [float(np.interp(raw_score(p), X, Y)) for p in probs]
    got = scorer.quality([red, grey])
    assert got == pytest.approx(expected, abs=1e-6)
    assert got[0] > 0.9 and got[1] == pytest.approx(0.5, abs=0.01)  # grey: the middle label
    assert raw_score({label: 1.0 if label == "great" else 0.0 for label in AESTHETIC_LABELS}) == 4


def test_without_samples_the_raw_score_is_scaled(tmp_path: Path) -> None:
    scorer = QualityScorer.load(aesthetic(tmp_path / "aes", samples=False))
    red = Image.new("RGB", (64, 64), (255, 0, 0))
    (probs,) = scorer.classifier.scores([red])
    assert scorer.quality([red]) == pytest.approx([raw_score(probs) / 6], abs=1e-6)


def test_a_classifier_without_the_labels_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "mono"
    folder.mkdir()
    build_classifier(folder, MONOCHROME)
    with pytest.raises(ModelMismatch, match="not an aesthetic model"):
        QualityScorer.load(folder)


def test_registry_names_the_deepghs_model_with_its_samples() -> None:
    info = find_info(DEFAULT_AESTHETIC)
    assert info is not None and info.repo_id == "deepghs/anime_aesthetic"
    assert info.files[2].endswith("/samples.npz")
