"""Picture classifiers (deepghs mobilenet / caformer exports): anime class (3d, bangumi,
comic, illustration, not_painting), anime vs real, monochrome vs colour.

Interface and pre-processing as imgutils' `ClassifyModel` (generic/classify.py): the
picture on white (alpha composited), RGB, bilinear resize to the input's fixed size (384
when dynamic), /255, (x - 0.5) / 0.5, NCHW float32 into `input`; the output `output`
holds probabilities (already softmax) in the order of meta.json's `labels`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.modelprep import ClassifyPrep
from illudex.analysers.onnxfiles import model_files
from illudex.models.errors import ModelCorrupt, ModelMismatch
from illudex.models.registry import ModelSpec
from illudex.models.sessions import get_session

DEFAULT_SIZE = 384


def load_labels(path: Path) -> list[str]:
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))["labels"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelCorrupt(f"classifier labels {str(path)!r} cannot be read ({e}): it "
                           "should be the model's meta.json with a \"labels\" list") from e
    return [str(label) for label in labels]


class Classifier:
    """A loaded classifier: `scores(images)` → {label: probability} per picture."""

    def __init__(self, spec: ModelSpec, model: Path, labels: list[str], *,
                 device: str = "auto") -> None:
        self.spec, self.name, self.labels = spec, spec.name, labels
        self.session = get_session(model, device=device)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        h, w = inp.shape[2], inp.shape[3]
        self.size = (w, h) if isinstance(w, int) and isinstance(h, int) and w > 0 \
            else (DEFAULT_SIZE, DEFAULT_SIZE)
        batch = inp.shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        outputs = [o.name for o in self.session.get_outputs()]
        self.output_name = "output" if "output" in outputs else outputs[0]

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], *, device: str = "auto",
             allow_download: bool = True) -> Classifier:
        spec, files = model_files(name_or_path, "classifier", allow_download=allow_download)
        return cls(spec, files[0], load_labels(files[1]), device=device)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Encoded NCHW batch → probabilities [N, labels]."""
        step = self.fixed_batch or len(batch)
        out = np.concatenate([
            np.asarray(self.session.run([self.output_name],
                                        {self.input_name: batch[i:i + step]})[0])
            for i in range(0, len(batch), step)])
        if out.shape[-1] != len(self.labels):
            raise ModelMismatch(f"classifier {self.name!r} gives {out.shape[-1]} scores but "
                                f"its meta.json lists {len(self.labels)} labels")
        return out.reshape(len(batch), -1)

    @property
    def prep(self) -> ClassifyPrep:
        return ClassifyPrep(self.size)

    def scores(self, images: Sequence[Image.Image]) -> list[dict[str, float]]:
        return self.scores_prepared([self.prep(im) for im in images])

    def scores_prepared(self, arrays: Sequence[np.ndarray]) -> list[dict[str, float]]:
        probs = self.predict(np.stack(arrays))
        return [{label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)}
                for row in probs]
