"""The registry: names, repo ids and paths → specs; clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from illudex.models.errors import ModelUnavailable
from illudex.models.registry import DEFAULT_TAGGER, detect_kind, list_models, resolve
from tests.fixtures.onnx_models import build_clip, build_tagger


def test_every_wd_tagger_is_listed_and_the_default_is_swinv2_v3() -> None:
    taggers = {m.name: m for m in list_models("tagger")}
    for name in ("wd-swinv2-tagger-v3", "wd-vit-tagger-v3", "wd-convnext-tagger-v3",
                 "wd-vit-large-tagger-v3", "wd-eva02-large-tagger-v3",
                 "wd-v1-4-moat-tagger-v2", "wd-v1-4-convnextv2-tagger-v2",
                 "wd-v1-4-swinv2-tagger-v2"):
        assert taggers[name].repo_id == f"SmilingWolf/{name}"
    assert [m.name for m in taggers.values() if m.default] == [DEFAULT_TAGGER]
    assert DEFAULT_TAGGER == "wd-swinv2-tagger-v3"
    assert all(m.kind == "clip" for m in list_models("clip"))
    assert {m.n_tags for m in taggers.values()} == {9083, 10861}


def test_names_and_repo_ids_resolve_case_insensitively() -> None:
    spec = resolve("WD-SwinV2-Tagger-v3")
    assert (spec.name, spec.repo_id, spec.kind) == (
        "wd-swinv2-tagger-v3", "SmilingWolf/wd-swinv2-tagger-v3", "tagger")
    assert spec.files == ("model.onnx", "selected_tags.csv")
    assert resolve("SmilingWolf/wd-vit-tagger-v3").name == "wd-vit-tagger-v3"
    clip = resolve("ViT-B-32__openai")
    assert clip.kind == "clip" and "visual/model.onnx" in clip.files


def test_an_unlisted_repo_id_is_accepted_with_its_kind_guessed() -> None:
    assert resolve("someone/my-anime-tagger").kind == "tagger"
    assert resolve("someone/my-clip").kind == "clip"
    assert resolve("someone/thing", kind="tagger").kind == "tagger"


def test_a_path_wins_over_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_tagger(tmp_path / "wd-swinv2-tagger-v3", size=32)
    monkeypatch.chdir(tmp_path)
    spec = resolve("wd-swinv2-tagger-v3")
    assert spec.is_local and spec.local == (tmp_path / "wd-swinv2-tagger-v3").resolve()
    assert spec.repo_id is None


def test_local_folders_and_files_are_recognised(tmp_path: Path) -> None:
    tagger = build_tagger(tmp_path / "tagger", size=32)
    clip = build_clip(tmp_path / "clip")
    assert detect_kind(tagger) == "tagger"
    assert detect_kind(clip) == "clip"
    file_spec = resolve(tagger / "model.onnx")
    assert (file_spec.kind, file_spec.name) == ("tagger", "tagger")
    renamed = tagger / "my-tagger.onnx"
    (tagger / "model.onnx").rename(renamed)
    assert resolve(renamed).name == "my-tagger"
    assert resolve(str(clip)).name == "clip"


def test_unknown_names_and_missing_paths_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="illudex models list") as e:
        resolve("no-such-model")
    assert "wd-swinv2-tagger-v3" in str(e.value)
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve(str(tmp_path / "missing" / "model.onnx"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="not a model illudex can load"):
        resolve(tmp_path / "empty")


def test_kind_mismatch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="is a tagger model, not a clip model"):
        resolve("wd-vit-tagger-v3", kind="clip")
    with pytest.raises(ModelUnavailable, match="holds a clip model"):
        resolve(build_clip(tmp_path / "c"), kind="tagger")


def test_a_folder_without_a_model_does_not_hide_a_known_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wd-vit-tagger-v3").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve("wd-vit-tagger-v3").repo_id == "SmilingWolf/wd-vit-tagger-v3"
