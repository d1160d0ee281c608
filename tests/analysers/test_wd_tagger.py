"""The WD tagger on tiny models with the real interface: scores, thresholds, MCut,
fixed-batch fallback, the exposed embedding, corrupt and mismatched files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illudex.analysers.wd_tagger import TagOptions, WDTagger, load_tag_list, mcut_threshold
from illudex.imageio import decode
from illudex.models.errors import ModelCorrupt, ModelMismatch
from tests.fixtures.onnx_models import TAGS, build_tagger, expected_scores, tiny_features

NAMES = [t.name for t in TAGS]


def _pictures(folder: Path) -> list[Path]:
    """Red PNG, green JPEG (odd size), white-with-transparent-corner RGBA PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    red = folder / "red.png"
    Image.new("RGB", (300, 200), (255, 0, 0)).save(red)
    green = folder / "green.jpg"
    Image.new("RGB", (211, 377), (0, 255, 0)).save(green, quality=95)
    clear = folder / "clear.png"
    rgba = Image.new("RGBA", (64, 64), (0, 0, 255, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 64, 64))  # all transparent: white after compositing
    rgba.save(clear)
    return [red, green, clear]


def _means(tagger: WDTagger, path: Path) -> np.ndarray:
    return tagger.preprocess(decode(path).image).astype(np.float64).mean(axis=(0, 1)) / 255.0


def test_scores_tags_and_ratings_follow_the_model(tmp_path: Path, tagger_dir: Path) -> None:
    tagger = WDTagger.load(tagger_dir, device="cpu")
    paths = _pictures(tmp_path / "pics")
    results = tagger.tag([decode(p).image for p in paths], [str(p) for p in paths])
    for path, result in zip(paths, results, strict=True):
        expected = expected_scores(_means(tagger, path))
        kept_general = {n for n, s, t in zip(NAMES, expected, TAGS, strict=True)
                        if t.category == 0 and s > 0.35}
        assert set(result.general) == kept_general
        for name, score in result.general.items():
            assert score == pytest.approx(expected[NAMES.index(name)], abs=1e-3)
        assert list(result.rating) == ["general", "sensitive", "questionable", "explicit"]
        assert result.top_rating == "general"
    red, green, clear = results
    assert "red_theme" in red.general and "blue_theme" not in red.general
    saber = expected_scores(_means(tagger, paths[1]))[NAMES.index("saber_(fate)")]
    assert green.character == {"saber_(fate)": pytest.approx(saber, abs=1e-3)}
    assert "white_background" in clear.general and not clear.character
    assert next(iter(red.general)) == "red_theme"  # highest score first


def test_json_shape_for_the_cli(tmp_path: Path, tagger_dir: Path) -> None:
    tagger = WDTagger.load(tagger_dir, device="cpu")
    path = _pictures(tmp_path)[1]
    result = tagger.tag([decode(path).image], [str(path)])[0]
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) == {"path", "rating", "general", "character"}
    assert data["path"] == str(path)
    assert list(data["character"]) == ["saber_(fate)"]
    assert all(isinstance(v, float) for v in data["general"].values())


def test_thresholds_decide_what_is_kept(tagger_dir: Path) -> None:
    tagger = WDTagger.load(tagger_dir, device="cpu")
    white = [Image.new("RGB", (50, 50), "white")]
    default = tagger.tag(white)[0]
    assert {"solo", "^_^"} <= set(default.general)  # 0.5 and 0.3775 > 0.35
    assert "looking_at_viewer" not in default.general  # 0.269
    assert "kirisame_marisa" not in default.character  # 0.731 < 0.85
    strict = tagger.tag(white, options=TagOptions(general_threshold=0.4))[0]
    assert "solo" in strict.general and "^_^" not in strict.general
    loose = tagger.tag(white, options=TagOptions(character_threshold=0.7))[0]
    assert list(loose.character) == ["kirisame_marisa"]


def test_mcut_threshold_is_the_midpoint_of_the_largest_gap() -> None:
    assert mcut_threshold(np.array([0.9, 0.85, 0.3, 0.2])) == pytest.approx(0.575)
    assert mcut_threshold(np.array([0.1, 0.95, 0.2])) == pytest.approx(0.575)
    assert mcut_threshold(np.array([0.4])) == pytest.approx(0.4)


def test_mcut_per_picture(tagger_dir: Path) -> None:
    tagger = WDTagger.load(tagger_dir, device="cpu")
    red = tagger.tag([Image.new("RGB", (40, 40), (255, 0, 0))],
                     options=TagOptions(general_mcut=True, character_mcut=True))[0]
    scores = expected_scores(np.array([0.0, 0.0, 1.0]))
    general = [s for s, t in zip(scores, TAGS, strict=True) if t.category == 0]
    cut = mcut_threshold(np.array(general))
    assert set(red.general) == {n for n, s, t in zip(NAMES, scores, TAGS, strict=True)
                                if t.category == 0 and s > cut}
    assert list(red.general) == ["red_theme"]  # the one clear tag: the gap is after it
    # characters: saber ~0.0, marisa 0.731: the gap's midpoint (~0.37) is above the 0.15 floor
    assert list(red.character) == ["kirisame_marisa"]


def test_a_fixed_batch_model_runs_one_picture_at_a_time(tmp_path: Path) -> None:
    fixed = WDTagger.load(build_tagger(tmp_path / "fixed", size=32, fixed_batch=True))
    dynamic = WDTagger.load(build_tagger(tmp_path / "dynamic", size=32))
    assert (fixed.fixed_batch, dynamic.fixed_batch) == (1, None)
    assert fixed.default_batch == 1
    rng = np.random.default_rng(3)
    batch = rng.integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    scores_fixed, feats_fixed = fixed.predict(batch)
    scores_dyn, feats_dyn = dynamic.predict(batch)
    assert scores_fixed.shape == (5, len(TAGS))
    np.testing.assert_allclose(scores_fixed, scores_dyn, atol=1e-6)
    np.testing.assert_allclose(feats_fixed, feats_dyn, atol=1e-6)
    images = [Image.fromarray(a) for a in batch]
    fixed_results = fixed.tag(images, options=TagOptions(batch_size=4))
    assert [r.general for r in fixed_results] == [r.general for r in dynamic.tag(images)]


def test_the_embedding_is_the_classifiers_input_normalised(tagger_dir: Path) -> None:
    tagger = WDTagger.load(tagger_dir, device="cpu")
    assert tagger.embedding_output == "features"
    pictures = [Image.new("RGB", (60, 30), (255, 0, 0)), Image.new("RGB", (30, 30), (0, 0, 0))]
    results = tagger.tag(pictures)
    for picture, result in zip(pictures, results, strict=True):
        means = tagger.preprocess(picture).astype(np.float64).mean(axis=(0, 1)) / 255.0
        raw = tiny_features(means)
        assert result.embedding is not None and result.embedding.dtype == np.float32
        np.testing.assert_allclose(result.embedding, raw / np.linalg.norm(raw), atol=1e-5)
        assert np.linalg.norm(result.embedding) == pytest.approx(1.0, abs=1e-5)
    assert WDTagger.load(tagger_dir, embeddings=False).tag(pictures)[0].embedding is None


def test_gemm_classifier_and_a_small_declared_size(tmp_path: Path) -> None:
    tagger = WDTagger.load(build_tagger(tmp_path / "g", size=24, gemm=True))
    assert tagger.size == 24 and tagger.preprocess.size == 24
    result = tagger.tag([Image.new("RGB", (99, 80), (0, 255, 0))])[0]
    assert "saber_(fate)" in result.character
    assert result.embedding is not None and result.embedding.shape == (8,)


def test_garbage_model_bytes_are_a_clear_error(tagger_dir: Path) -> None:
    (tagger_dir / "model.onnx").write_bytes(b"<html>404 not found</html>" * 50)
    with pytest.raises(ModelCorrupt) as e:
        WDTagger.load(tagger_dir)
    assert str(tagger_dir / "model.onnx") in str(e.value)
    assert "download it again" in str(e.value)
    with pytest.raises(ModelCorrupt, match="cannot be loaded"):
        WDTagger.load(tagger_dir, embeddings=False)


def test_output_width_must_match_the_tag_list(tmp_path: Path) -> None:
    folder = build_tagger(tmp_path / "mismatch", size=32, csv_rows=len(TAGS) - 2)
    with pytest.raises(ModelMismatch) as e:
        WDTagger.load(folder)
    assert f"gives {len(TAGS)} scores" in str(e.value)
    assert f"lists {len(TAGS) - 2} tags" in str(e.value)


def test_missing_or_broken_tag_list(tagger_dir: Path) -> None:
    (tagger_dir / "selected_tags.csv").write_text("id,label\n1,x\n")
    with pytest.raises(ModelCorrupt, match="expected name and category"):
        WDTagger.load(tagger_dir)
    (tagger_dir / "selected_tags.csv").unlink()
    with pytest.raises(ModelCorrupt, match=r"selected_tags\.csv"):
        WDTagger.load(tagger_dir / "model.onnx")


def test_tag_list_categories(tagger_dir: Path) -> None:
    tags = load_tag_list(tagger_dir / "selected_tags.csv")
    assert len(tags) == len(TAGS)
    assert [tags.names[i] for i in tags.indexes(9)] == [
        "general", "sensitive", "questionable", "explicit"]
    tagger = WDTagger.load(tagger_dir)
    assert tagger.category_of("saber_(fate)") == "character"
    assert tagger.category_of("solo") == "general"
