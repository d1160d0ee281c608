"""Sessions: provider choice, one cached session per model file, readable load errors."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest

from illudex.models.errors import DeviceUnavailable, ModelCorrupt
from illudex.models.sessions import clear_cache, get_session, providers_for
from tests.fixtures.onnx_models import build_tagger

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def test_cpu_is_always_the_last_resort(monkeypatch: pytest.MonkeyPatch) -> None:
    assert providers_for("cpu") == ["CPUExecutionProvider"]
    assert providers_for("auto")[-1] == "CPUExecutionProvider"
    monkeypatch.setenv("ILLUDEX_DEVICE", "cpu")
    assert providers_for("auto") == ["CPUExecutionProvider"]


@pytest.mark.skipif(HAS_CUDA, reason="this onnxruntime has CUDA: the refusal cannot show")
def test_asking_for_a_gpu_without_gpu_providers_says_how_to_get_one() -> None:
    with pytest.raises(DeviceUnavailable, match="install onnxruntime-gpu"):
        providers_for("cuda")


@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu")
def test_auto_prefers_cuda_when_installed() -> None:
    assert providers_for("auto")[0] == "CUDAExecutionProvider"


def test_unknown_device_is_refused() -> None:
    with pytest.raises(DeviceUnavailable, match="unknown device 'tpu'"):
        providers_for("tpu")


def test_one_session_per_model_file(tmp_path: Path) -> None:
    model = build_tagger(tmp_path / "m", size=32) / "model.onnx"
    first = get_session(model, device="cpu")
    assert get_session(model, device="cpu") is first
    assert get_session(tmp_path / "m" / ".." / "m" / "model.onnx", device="cpu") is first
    assert get_session(model, device="cpu", threads=1) is not first
    clear_cache()
    assert get_session(model, device="cpu") is not first


def test_a_replaced_model_file_gets_a_new_session(tmp_path: Path) -> None:
    model = build_tagger(tmp_path / "m", size=32) / "model.onnx"
    first = get_session(model, device="cpu")
    build_tagger(tmp_path / "m", size=64)
    second = get_session(model, device="cpu")
    assert second is not first
    assert second.get_inputs()[0].shape[1] == 64


def test_garbage_bytes_are_a_clear_corrupt_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x00\x01 not a protobuf at all" * 100)
    with pytest.raises(ModelCorrupt) as e:
        get_session(bad, device="cpu")
    assert str(bad) in str(e.value) and "download it again" in str(e.value)
