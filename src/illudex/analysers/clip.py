"""CLIP-style image and text encoders (ONNX, the visual/textual folder layout).

Layout (README, `illudex embed`): `config.json` (open_clip config, `text_cfg.context_length`),
`visual/model.onnx` + `visual/preprocess_cfg.json` (size, mean, std, interpolation,
resize_mode), `textual/model.onnx` + `textual/tokenizer.json` (+ tokenizer_config.json
naming the pad token). Embeddings are L2-normalised, so similarity is a dot product.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from illudex.analysers.preprocess import ClipPreprocess
from illudex.analysers.wd_tagger import l2_normalise
from illudex.models import hub
from illudex.models.errors import ModelCorrupt
from illudex.models.registry import DEFAULT_CLIP, ModelSpec, resolve
from illudex.models.sessions import get_session, uses_gpu

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


_loaded: dict[tuple[object, ...], ClipModel] = {}


def forget(model: object) -> None:
    """Drop a loaded pair from the cache (the model pool releasing it)."""
    for key in [k for k, m in _loaded.items() if m is model]:
        del _loaded[key]


class ClipModel:
    """A loaded CLIP pair: `embed_images(pictures)`, `embed_batch(uint8)`, `embed_text(str)`."""

    def __init__(
        self, spec: ModelSpec, folder: Path, *, device: str = "auto", threads: int | None = None
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.folder = folder
        config = _read_json(folder / "config.json", spec.name)
        pre = _read_json(folder / "visual" / "preprocess_cfg.json", spec.name)
        size = pre.get("size", 224)
        self.preprocess = ClipPreprocess(
            size=int(size[0] if isinstance(size, list) else size),
            resize_mode=str(pre.get("resize_mode", "shortest")),
            interpolation=str(pre.get("interpolation", "bicubic")),
        )
        self.mean = np.asarray(pre.get("mean", OPENAI_MEAN), np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(pre.get("std", OPENAI_STD), np.float32).reshape(1, 3, 1, 1)
        self.context_length = int(config.get("text_cfg", {}).get("context_length", 77))
        self.visual = get_session(folder / "visual" / "model.onnx", device=device, threads=threads)
        vin = self.visual.get_inputs()[0]
        self._visual_input = vin.name
        self.fixed_batch = vin.shape[0] if isinstance(vin.shape[0], int) else None
        self._textual_path = folder / "textual" / "model.onnx"
        self._device, self._threads = device, threads
        self._textual: Any = None
        self._tokenizer: Any = None
        out_dim = self.visual.get_outputs()[0].shape[-1]
        self._dim: int | None = out_dim if isinstance(out_dim, int) else None

    @classmethod
    def load(
        cls, name_or_path: str | Path = DEFAULT_CLIP, *, device: str = "auto",
        threads: int | None = None, allow_download: bool = True,
    ) -> ClipModel:
        spec = resolve(name_or_path, kind="clip")
        folder = hub.ensure(spec, allow_download=allow_download)
        stamps = tuple(_mtime(folder / p) for p in ("visual/model.onnx", "textual/model.onnx"))
        key = (str(folder), stamps, device, threads)
        if key not in _loaded:  # text queries come one by one: load the pair once
            _loaded[key] = cls(spec, folder, device=device, threads=threads)
        return _loaded[key]

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed_text("").shape[-1])
        return self._dim

    @property
    def default_batch(self) -> int:
        return self.fixed_batch or (64 if uses_gpu(self.visual) else 16)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Decoded pictures → [N, dim] normalised embeddings."""
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_batch(np.stack([self.preprocess(im) for im in images]))

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed uint8 NHWC RGB → [N, dim] normalised embeddings."""
        x = batch.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        x = np.ascontiguousarray((x - self.mean) / self.std, dtype=np.float32)
        step = self.fixed_batch or len(x)
        out = []
        for start in range(0, len(x), step):
            chunk = x[start : start + step]
            n = len(chunk)
            if self.fixed_batch and n < self.fixed_batch:
                chunk = np.concatenate([chunk, np.zeros((step - n, *chunk.shape[1:]), np.float32)])
            out.append(np.asarray(self.visual.run(None, {self._visual_input: chunk})[0])[:n])
        vectors = np.concatenate(out).reshape(len(x), -1)
        self._dim = vectors.shape[1]
        return l2_normalise(vectors)

    def embed_text(self, text: str) -> np.ndarray:
        """One text query → its normalised embedding [dim] (for search by words)."""
        session, tokenizer = self._text_parts()
        encoding = tokenizer.encode(text)
        feeds: dict[str, np.ndarray] = {}
        for inp in session.get_inputs():
            dtype = np.int64 if "int64" in inp.type else np.int32
            values = encoding.attention_mask if "mask" in inp.name else encoding.ids
            feeds[inp.name] = np.asarray([values], dtype=dtype)
        vector = np.asarray(session.run(None, feeds)[0]).reshape(-1)
        return l2_normalise(vector)

    def _text_parts(self) -> tuple[Any, Any]:
        """The text session and tokenizer, loaded on first use (image runs never need them)."""
        if self._textual is None:
            self._tokenizer = self._load_tokenizer()
            self._textual = get_session(
                self._textual_path, device=self._device, threads=self._threads
            )
        return self._textual, self._tokenizer

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.folder / "textual" / "tokenizer.json"
        if not path.exists():
            path = self.folder / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises plain Exception subclasses
            raise ModelCorrupt(
                f"CLIP model {self.name!r}: tokenizer {str(path)!r} cannot be read ({e}); "
                "it should be the tokenizers-format tokenizer.json exported with the model"
            ) from e
        cfg_path = path.with_name("tokenizer_config.json")
        cfg = _read_json(cfg_path, self.name) if cfg_path.exists() else {}
        pad_token = cfg.get("pad_token")
        if isinstance(pad_token, dict):  # {"content": "<pad>", ...} in newer exports
            pad_token = pad_token.get("content")
        pad_id = tokenizer.token_to_id(pad_token) if isinstance(pad_token, str) else None
        tokenizer.enable_padding(
            length=self.context_length, pad_id=pad_id or 0, pad_token=pad_token or "[PAD]"
        )
        tokenizer.enable_truncation(max_length=self.context_length)
        return tokenizer


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


def _read_json(path: Path, model: str) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ModelCorrupt(
            f"CLIP model {model!r}: {str(path)!r} is missing; the folder needs config.json, "
            "visual/model.onnx, visual/preprocess_cfg.json, textual/model.onnx and "
            "textual/tokenizer.json"
        ) from None
    except (OSError, ValueError) as e:
        raise ModelCorrupt(f"CLIP model {model!r}: {str(path)!r} cannot be read ({e})") from e
