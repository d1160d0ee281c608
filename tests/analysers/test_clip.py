"""CLIP-layout models: image and text embeddings from tiny visual/textual ONNX models and a
real `tokenizers` tokenizer; words find the pictures of their colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illudex.analysers.clip import ClipModel
from illudex.models.errors import ModelCorrupt, ModelUnavailable
from tests.fixtures.onnx_models import CLIP_CONTEXT, build_clip

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def _pictures() -> list[Image.Image]:
    return [Image.new("RGB", (120, 90), rgb) for rgb in COLOURS.values()]


def test_words_find_the_pictures_of_their_colour(clip_dir: Path) -> None:
    model = ClipModel.load(clip_dir, device="cpu")
    images = model.embed_images(_pictures())
    assert images.shape == (3, 8) and images.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    for i, word in enumerate(COLOURS):
        text = model.embed_text(f"a picture of {word.upper()}")
        assert text.shape == (8,)
        assert np.linalg.norm(text) == pytest.approx(1.0, abs=1e-5)
        assert int(np.argmax(images @ text)) == i


def test_the_tokenizer_pads_and_truncates_to_the_context_length(clip_dir: Path) -> None:
    model = ClipModel.load(clip_dir)
    _, tokenizer = model._text_parts()
    assert tokenizer.encode("red").ids == [2] + [0] * (CLIP_CONTEXT - 1)
    long = " ".join(["blue"] * 50)
    assert len(tokenizer.encode(long).ids) == CLIP_CONTEXT
    assert model.embed_text(long) @ model.embed_images(_pictures())[2] > 0.9


def test_the_visual_model_sees_the_normalised_centre_crop(clip_dir: Path) -> None:
    model = ClipModel.load(clip_dir)
    # Left half red, right half blue, wide: the centre crop keeps both halves equally.
    wide = Image.new("RGB", (256, 64), (255, 0, 0))
    wide.paste((0, 0, 255), (128, 0, 256, 64))
    vector = model.embed_images([wide])[0]
    mean = np.array([0.48145466, 0.4578275, 0.40821073])
    std = np.array([0.26862954, 0.26130258, 0.27577711])
    expected = (np.array([0.5, 0.0, 0.5]) - mean) / std
    np.testing.assert_allclose(vector[:3], expected / np.linalg.norm(expected), atol=2e-3)


@pytest.mark.parametrize("fixed", [True, False])
def test_fixed_and_dynamic_batches_give_the_same_vectors(tmp_path: Path, fixed: bool) -> None:
    model = ClipModel.load(build_clip(tmp_path / "c", fixed_batch=fixed))
    assert model.fixed_batch == (1 if fixed else None)
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (5, 64, 64, 3)).astype(np.uint8)
    together = model.embed_batch(batch)
    one_by_one = np.concatenate([model.embed_batch(batch[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)
    assert model.dim == 8


def test_missing_parts_are_named(clip_dir: Path) -> None:
    (clip_dir / "visual" / "preprocess_cfg.json").unlink()
    with pytest.raises(ModelCorrupt, match=r"preprocess_cfg\.json"):
        ClipModel.load(clip_dir)


def test_a_broken_tokenizer_is_a_clear_error(clip_dir: Path) -> None:
    (clip_dir / "textual" / "tokenizer.json").write_text("{not json")
    model = ClipModel.load(clip_dir)  # images need no tokenizer
    assert model.embed_images(_pictures()).shape == (3, 8)
    with pytest.raises(ModelCorrupt, match="tokenizer"):
        model.embed_text("red")


def test_a_tagger_folder_is_not_a_clip_model(tagger_dir: Path) -> None:
    with pytest.raises(ModelUnavailable, match="not a clip model"):
        ClipModel.load(tagger_dir)
