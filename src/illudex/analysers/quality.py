"""A per-picture quality score from the deepghs anime aesthetic models (imgutils'
`anime_dbaesthetic`, read from its source, metrics/dbaesthetic.py).

The model is a deepghs classifier (`illudex.analysers.classify`: meta.json labels worst,
low, normal, good, great, best, masterpiece). Its raw score is the expected label index,
sum of p(label_i) * i (0..6); the quality is that score's percentile over the model's own
sample pictures (`samples.npz`: arr_0 = [scores, percentiles], interpolated linearly),
so 0.7 means "better than 70 % of the model's samples". Without samples.npz the quality
is the raw score / 6.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from illudex.analysers.classify import Classifier, load_labels
from illudex.analysers.onnxfiles import model_files
from illudex.models.deepghs import DEFAULT_AESTHETIC
from illudex.models.errors import ModelCorrupt, ModelMismatch

AESTHETIC_LABELS = ("worst", "low", "normal", "good", "great", "best", "masterpiece")
SAMPLES_FILE = "samples.npz"


class QualityScorer:
    """`quality(images)` → one score in 0..1 per picture (higher is better)."""

    def __init__(self, classifier: Classifier, samples: tuple[np.ndarray, np.ndarray] | None):
        missing = set(AESTHETIC_LABELS) - set(classifier.labels)
        if missing:
            raise ModelMismatch(f"{classifier.name!r} is not an aesthetic model: its labels "
                                f"lack {sorted(missing)}")
        self.classifier, self.name, self.samples = classifier, classifier.name, samples

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str] = DEFAULT_AESTHETIC, *,
             device: str = "auto", allow_download: bool = True) -> QualityScorer:
        spec, files = model_files(name_or_path, "classifier", allow_download=allow_download)
        samples = files[2] if len(files) > 2 else files[0].parent / SAMPLES_FILE
        classifier = Classifier(spec, files[0], load_labels(files[1]), device=device)
        return cls(classifier, read_samples(samples) if samples.exists() else None)

    def quality(self, images: Sequence[Image.Image]) -> list[float]:
        return [self.from_probabilities(p) for p in self.classifier.scores(images)]

    def from_probabilities(self, probs: dict[str, float]) -> float:
        raw = raw_score(probs)
        if self.samples is None:
            return raw / (len(AESTHETIC_LABELS) - 1)
        return to_percentile(raw, *self.samples)


def raw_score(probs: dict[str, float]) -> float:
    """Σ p(label_i)·i over worst (0) … masterpiece (6)."""
    return float(sum(probs[label] * i for i, label in enumerate(AESTHETIC_LABELS)))


def read_samples(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path) as data:
            stacked = np.asarray(data["arr_0"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as e:
        raise ModelCorrupt(f"aesthetic samples {str(path)!r} cannot be read ({e})") from e
    if stacked.ndim != 2 or stacked.shape[0] != 2 or stacked.shape[1] < 2:
        raise ModelCorrupt(f"aesthetic samples {str(path)!r}: expected [2, N], got "
                           f"{list(stacked.shape)}")
    return stacked[0], stacked[1]


def to_percentile(score: float, x: np.ndarray, y: np.ndarray) -> float:
    """The score's percentile: linear between the samples, clipped to their range.

    imgutils' `score_to_percentile` interpolates on the segment to the right of the
    score (`searchsorted`'s index and the next); this uses the segment holding it. With
    the models' dense samples the two differ by less than one sample step."""
    return float(np.interp(score, x, y))
