"""Finding and downloading models: cache layout, ILLUDEX_MODELS_DIR, offline, a local hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from illudex.analysers.wd_tagger import WDTagger
from illudex.models import hub
from illudex.models.errors import ModelUnavailable
from illudex.models.registry import resolve
from tests.fixtures.fake_hub import COMMIT, fake_hub
from tests.fixtures.onnx_models import build_tagger


def _hf_snapshot(hf_home: Path, repo_id: str, revision: str = COMMIT) -> Path:
    """The Hugging Face cache layout: models--owner--name/{refs/main, snapshots/REV/}."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    return repo / "snapshots" / revision


def test_offline_with_an_empty_cache_names_the_model_places_and_fixes(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable) as e:
        WDTagger.load("wd-swinv2-tagger-v3")
    message = str(e.value)
    assert "'wd-swinv2-tagger-v3' (SmilingWolf/wd-swinv2-tagger-v3)" in message
    assert "HF_HUB_OFFLINE=1" in message
    assert str(tmp_path / "hf-home" / "hub") in message  # where it was looked for
    assert "ILLUDEX_MODELS_DIR" in message
    assert "illudex models download wd-swinv2-tagger-v3" in message
    assert "model.onnx, selected_tags.csv" in message
    with pytest.raises(ModelUnavailable, match="HF_HUB_OFFLINE"):
        hub.download("wd-vit-tagger-v3")


def test_offline_load_from_the_hugging_face_cache(tmp_path: Path) -> None:
    build_tagger(_hf_snapshot(tmp_path / "hf-home", "SmilingWolf/wd-swinv2-tagger-v3"), size=32)
    tagger = WDTagger.load("wd-swinv2-tagger-v3")
    assert tagger.name == "wd-swinv2-tagger-v3" and tagger.size == 32
    assert hub.locate(resolve("wd-swinv2-tagger-v3")).name == COMMIT


def test_a_half_downloaded_cache_is_not_taken_for_a_model(tmp_path: Path) -> None:
    snapshot = _hf_snapshot(tmp_path / "hf-home", "SmilingWolf/wd-vit-tagger-v3")
    build_tagger(snapshot, size=32)
    (snapshot / "selected_tags.csv").unlink()
    assert hub.locate(resolve("wd-vit-tagger-v3")) is None


def test_illudex_models_dir_is_searched_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_tagger(tmp_path / "models" / "wd-vit-tagger-v3", size=32)
    monkeypatch.setenv("ILLUDEX_MODELS_DIR", str(tmp_path / "models"))
    assert hub.locate(resolve("wd-vit-tagger-v3")) == tmp_path / "models" / "wd-vit-tagger-v3"
    assert WDTagger.load("wd-vit-tagger-v3").size == 32


def test_hf_home_and_offline_are_read_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    assert hub.hf_cache_dir() == tmp_path / "elsewhere" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "direct"))
    assert hub.hf_cache_dir() == tmp_path / "direct"
    assert hub.is_offline()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not hub.is_offline()


@pytest.fixture
def online_to_local_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads allowed, but only from the 127.0.0.1 hub a test starts (HF_ENDPOINT)."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.mark.usefixtures("online_to_local_hub")
def test_download_fills_the_cache_then_loads_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = build_tagger(tmp_path / "served", size=32)
    with fake_hub(served) as (endpoint, requests):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        folder = hub.download("wd-swinv2-tagger-v3", progress=False)
    assert any("/SmilingWolf/wd-swinv2-tagger-v3/resolve/main/model.onnx" in r for r in requests)
    assert folder == tmp_path / "hf-home" / "hub" / \
        "models--SmilingWolf--wd-swinv2-tagger-v3" / "snapshots" / COMMIT
    assert (folder / "model.onnx").read_bytes() == (served / "model.onnx").read_bytes()
    shutil.rmtree(served)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert WDTagger.load("wd-swinv2-tagger-v3").size == 32


@pytest.mark.usefixtures("online_to_local_hub")
def test_a_failed_download_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "served").mkdir()  # the hub has no such files: 404
    with fake_hub(tmp_path / "served") as (endpoint, _):
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        with pytest.raises(ModelUnavailable) as e:
            hub.download("wd-vit-tagger-v3", progress=False)
    message = str(e.value)
    assert "downloading model.onnx from SmilingWolf/wd-vit-tagger-v3 failed" in message
    assert "illudex models download wd-vit-tagger-v3" in message


def test_a_local_path_is_returned_as_is(tagger_dir: Path) -> None:
    assert hub.download(str(tagger_dir)) == tagger_dir.resolve()


def test_status_says_where_a_model_is_and_its_size(tmp_path: Path, tagger_dir: Path) -> None:
    missing = hub.status("wd-vit-tagger-v3")
    assert not missing.available and missing.size_bytes == 0
    assert missing.to_json()["repo_id"] == "SmilingWolf/wd-vit-tagger-v3"
    local = hub.status(str(tagger_dir))
    assert local.available and local.location == tagger_dir.resolve()
    expected = sum((tagger_dir / f).stat().st_size for f in ("model.onnx", "selected_tags.csv"))
    assert local.size_bytes == expected
