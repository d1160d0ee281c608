"""Optional: embedding exposure on a real trained network (the ResNet-18 of `anime-or-not`).

The wheel is never fetched by the tests (no network from tests). To run this, once:
    .venv/bin/pip download --no-deps anime-or-not -d .cache/test-models
(or point ILLUDEX_TEST_MODELS at a folder holding the wheel). Licence unstated: tests only.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image, ImageDraw

from illudex.models.graph import with_embedding_output

ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("ILLUDEX_TEST_MODELS", ROOT / ".cache" / "test-models"))
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


@pytest.fixture(scope="module")
def resnet_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = sorted(WHEELS.glob("anime_or_not-*.whl")) if WHEELS.is_dir() else []
    if not wheels:
        pytest.skip(f"optional real-model test: no anime_or_not wheel in {WHEELS}; fetch it with "
                    "`pip download --no-deps anime-or-not -d .cache/test-models`")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".onnx"))
        target = tmp_path_factory.mktemp("resnet") / "anime_or_not_model.onnx"
        target.write_bytes(wheel.read(name))
    return target


def _drawing(seed: int, size: int = 224) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x, y, x + 60, y + 40), fill=colour, outline=(0, 0, 0), width=3)
    return np.asarray(image, np.float32) / 255.0


def _batch(pictures: list[np.ndarray]) -> np.ndarray:
    return np.stack([((p - MEAN) / STD).transpose(2, 0, 1) for p in pictures]).astype(np.float32)


def test_the_pooled_feature_of_a_real_resnet_is_a_useful_embedding(
    resnet_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ILLUDEX_CACHE_DIR", str(tmp_path / "cache"))
    exposed, name = with_embedding_output(resnet_path)
    assert name is not None and exposed != resnet_path
    session = ort.InferenceSession(str(exposed), providers=["CPUExecutionProvider"])
    a = _drawing(1)
    a_shifted = np.roll(a, 6, axis=1)  # the same drawing, moved a little
    b = _drawing(2)
    logits, feats = session.run(None, {"input": _batch([a, a_shifted, b])})
    assert logits.shape == (3, 2) and feats.shape == (3, 512)
    assert (feats >= 0).all()  # after ReLU and average pooling
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2]
    plain = ort.InferenceSession(str(resnet_path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(plain.run(None, {"input": _batch([b])})[0][0], logits[2],
                               rtol=1e-4, atol=1e-4)
