"""Any ONNX image model as an embedder: a folder with `model.onnx` and `illudex.json`.

Its vectors are stored under the model's name in `embeddings`, so search by picture,
clustering and teaching tags use them like the WD or CLIP ones. Run by
`illudex.analysers.runner.embed_images` (same batching, decoding and storing as CLIP).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.embedder_config import EmbedderConfig, is_embedder_folder, read_config
from illudex.analysers.wd_tagger import l2_normalise
from illudex.models.errors import ModelCorrupt
from illudex.models.graph import with_embedding_output
from illudex.models.registry import resolve
from illudex.models.sessions import get_session, uses_gpu

__all__ = ["OnnxEmbedder", "is_embedder_folder"]


class OnnxEmbedder:
    """`embed_batch(uint8 NHWC RGB)` → [N, dim]; `preprocess` for decode workers."""

    def __init__(self, folder: Path, *, device: str = "auto", threads: int | None = None) -> None:
        self.folder = folder
        self.config: EmbedderConfig = read_config(folder)
        self.name = self.config.name
        self.preprocess = self.config.preprocess
        model_path = folder / "model.onnx"
        if not model_path.is_file():
            raise ModelCorrupt(f"embedder folder {str(folder)!r} has no model.onnx")
        output = self.config.output
        if output == "penultimate":
            model_path, found = with_embedding_output(model_path)
            if found is None:
                raise ModelCorrupt(
                    f"{str(folder / 'model.onnx')!r}: no final MatMul/Gemm layer found, so "
                    "'penultimate' has no meaning here; name an output in illudex.json")
            output = found
        self.visual = get_session(model_path, device=device, threads=threads)
        names = [o.name for o in self.visual.get_outputs()]
        if output not in names:
            raise ModelCorrupt(f"embedder {self.name!r}: no output {output!r} (it has {names})")
        self._output = output
        inp = self.visual.get_inputs()[0]
        self._input = inp.name
        self.fixed_batch = inp.shape[0] if isinstance(inp.shape[0], int) else None

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto",
             threads: int | None = None) -> OnnxEmbedder:
        spec = resolve(path, kind="embedder")
        assert spec.local is not None  # an embedder is always a local folder
        return cls(spec.local, device=device, threads=threads)

    @property
    def default_batch(self) -> int:
        return self.fixed_batch or (64 if uses_gpu(self.visual) else 16)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Decoded pictures → [N, dim] vectors."""
        return self.embed_batch(np.stack([self.preprocess(im) for im in images]))

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        """Preprocessed uint8 NHWC RGB → [N, dim] vectors (L2-normalised unless the config
        says `"normalise": false`)."""
        x = self.config.to_input(batch)
        step = self.fixed_batch or len(x)
        out = []
        for start in range(0, len(x), step):
            chunk = x[start : start + step]
            n = len(chunk)
            if n < step:  # a fixed batch size: pad the last chunk
                chunk = np.concatenate([chunk, np.zeros((step - n, *chunk.shape[1:]), x.dtype)])
            out.append(np.asarray(self.visual.run([self._output], {self._input: chunk})[0])[:n])
        vectors = np.concatenate(out).reshape(len(x), -1).astype(np.float32)
        return l2_normalise(vectors) if self.config.normalise else vectors
