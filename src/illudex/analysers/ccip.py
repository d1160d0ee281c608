"""CCIP (deepghs): are two pictures of the same character?

Files (deepghs/ccip_onnx, one folder per model): `model_feat.onnx` (input `input`
float32 `[N, 3, 384, 384]`; output `output` `[N, 768]`), `model_metrics.onnx` (input
`input` `[N, 768]` features; output `output` `[N, N]` differences, 0 = same) and
`metrics.json` (`threshold`: same character when difference <= threshold).
Pre-processing as imgutils' metrics/ccip.py: RGB, bilinear resize to 384 x 384 (aspect
not kept), /255, CLIP mean and std.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.modelprep import CCIPPrep
from illudex.analysers.onnxfiles import model_files
from illudex.models.errors import ModelCorrupt
from illudex.models.registry import ModelSpec
from illudex.models.sessions import get_session

DEFAULT_SIZE = 384


def load_threshold(path: Path) -> float:
    try:
        return float(json.loads(path.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelCorrupt(f"CCIP metrics {str(path)!r} cannot be read ({e}): it should be "
                           "the model's metrics.json with a \"threshold\"") from e


class CCIP:
    """Feature extraction and pairwise differences."""

    def __init__(self, spec: ModelSpec, feat: Path, metric: Path, threshold: float, *,
                 device: str = "auto") -> None:
        self.spec, self.name, self.threshold = spec, spec.name, threshold
        self.feat = get_session(feat, device=device)
        self.metric = get_session(metric, device=device)
        inp = self.feat.get_inputs()[0]
        side = inp.shape[2]
        self.size = side if isinstance(side, int) and side > 0 else DEFAULT_SIZE
        batch = inp.shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], *, device: str = "auto",
             allow_download: bool = True) -> CCIP:
        spec, files = model_files(name_or_path, "ccip", allow_download=allow_download)
        return cls(spec, files[0], files[1], load_threshold(files[2]), device=device)

    @property
    def prep(self) -> CCIPPrep:
        return CCIPPrep(self.size)

    def features(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.features_prepared([self.prep(im) for im in images])

    def features_prepared(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        if not arrays:
            return np.zeros((0, 0), np.float32)
        x = np.stack(arrays)
        name = self.feat.get_inputs()[0].name
        step = self.fixed_batch or len(x)
        return np.concatenate([np.asarray(self.feat.run(None, {name: x[i:i + step]})[0])
                               for i in range(0, len(x), step)]).astype(np.float32)

    def differences(self, feats: np.ndarray) -> np.ndarray:
        """[N, D] features → [N, N] differences (the model's metric head)."""
        name = self.metric.get_inputs()[0].name
        return np.asarray(self.metric.run(None, {name: feats.astype(np.float32)})[0])
