"""ONNX Runtime sessions: execution providers, a per-process cache, readable load errors.

Providers: CUDA (and TensorRT on request) when `onnxruntime-gpu` is installed, else CPU.
`device` is 'auto' | 'cpu' | 'cuda' | 'tensorrt'; `$ILLUDEX_DEVICE` overrides 'auto'.
One session per (model file, device, threads) per process: loading a tagger takes
seconds and hundreds of MB, so every caller shares it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import onnxruntime as ort

from illudex.models.errors import DeviceUnavailable, ModelCorrupt

DEVICE_ENV = "ILLUDEX_DEVICE"
DEVICES = ("auto", "cpu", "cuda", "tensorrt")

_sessions: dict[tuple[Any, ...], ort.InferenceSession] = {}
_lock = threading.Lock()


def providers_for(device: str = "auto") -> list[str]:
    """The execution providers to ask for, best first; CPU is always the last resort."""
    device = (device or "auto").lower()
    if device == "auto":
        device = os.environ.get(DEVICE_ENV, "auto").lower() or "auto"
    if device not in DEVICES:
        raise DeviceUnavailable(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    available = set(ort.get_available_providers())
    wanted: list[str] = []
    if device == "tensorrt":
        wanted += ["TensorrtExecutionProvider", "CUDAExecutionProvider"]
    elif device in ("cuda", "auto"):
        wanted.append("CUDAExecutionProvider")
    chosen = [p for p in wanted if p in available]
    if device in ("cuda", "tensorrt") and not chosen:
        raise DeviceUnavailable(
            f"device {device!r} asked for, but this onnxruntime has no GPU providers "
            f"({', '.join(sorted(available))}): install onnxruntime-gpu, or use --device cpu"
        )
    return [*chosen, "CPUExecutionProvider"]


def get_session(
    path: str | Path, *, device: str = "auto", threads: int | None = None
) -> ort.InferenceSession:
    """The shared session for the ONNX file at `path`; `ModelCorrupt` if it cannot load."""
    path = Path(path).resolve()
    stat = path.stat()
    providers = providers_for(device)
    key = (str(path), stat.st_size, stat.st_mtime_ns, tuple(providers), threads)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _load(path, providers, threads)
            _sessions[key] = session
        return session


def clear_cache() -> None:
    """Drop every cached session (frees their memory once no caller holds them)."""
    with _lock:
        _sessions.clear()


def forget(sessions: list[ort.InferenceSession]) -> None:
    """Drop these sessions from the cache (the model pool releasing a model)."""
    gone = {id(s) for s in sessions}
    with _lock:
        for key in [k for k, s in _sessions.items() if id(s) in gone]:
            del _sessions[key]


def is_session(value: object) -> bool:
    return isinstance(value, ort.InferenceSession)


def uses_gpu(session: ort.InferenceSession) -> bool:
    return session.get_providers()[0] != "CPUExecutionProvider"


def _load(path: Path, providers: list[str], threads: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT's warnings are not for users
    if threads:
        options.intra_op_num_threads = threads
    # No busy-waiting between ops: the decode workers share these cores, and an op of a
    # tagger lasts far longer than a thread's wake-up.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    provider_args: list[Any] = [
        (p, {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(_trt_cache())})
        if p == "TensorrtExecutionProvider" else p
        for p in providers
    ]
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=provider_args)
    except Exception as e:  # ORT raises its own classes (InvalidProtobuf, Fail, ...) per cause
        first = (str(e).strip().splitlines() or [""])[0]
        raise ModelCorrupt(
            f"model file {str(path)!r} cannot be loaded ({type(e).__name__}: {first[:300]}). "
            "It may be truncated or not an ONNX model: delete it and download it again "
            "(`illudex models download NAME`), or point to a good copy."
        ) from e


def _trt_cache() -> Path:
    from illudex.models.cache import cache_dir

    path = cache_dir() / "tensorrt"
    path.mkdir(parents=True, exist_ok=True)
    return path
