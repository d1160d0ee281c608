"""The learned classifier: logistic regression on embeddings, calibrated, cross-validated.

Pure numpy/scikit-learn: rows in, scores out. The vectors are centred on the catalog's
mean embedding and rescaled to unit mean norm first: stored embeddings are L2-normalised
and mostly share one direction, which the regulariser would otherwise have to fight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

MIN_PER_CLASS = 2  # cross-validation needs two of each to hold one out
_CALIBRATE_FROM = 4  # Platt scaling needs a few of each class per inner fold
BACKGROUND = 200  # unlabelled pictures drawn as weak 'no's
BACKGROUND_WEIGHT = 1.0
_C = 10.0  # measured in bench/teach.py (docs/decisions.md "Teaching a tag")


@dataclass(frozen=True)
class Scaling:
    """Centre and scale learned from the whole catalog's vectors (not only the examples)."""

    mean: np.ndarray
    scale: float

    @classmethod
    def of(cls, vectors: np.ndarray) -> Scaling:
        mean = vectors.mean(axis=0)
        norms = np.linalg.norm(vectors - mean, axis=1)
        return cls(mean.astype(np.float32), float(norms.mean()) or 1.0)

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        return (vectors - self.mean) / self.scale


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold precision and recall at score 0.5, over `folds` folds."""

    precision: float
    recall: float
    folds: int


def fit(x: np.ndarray, y: np.ndarray, background: np.ndarray | None = None,
        ) -> LogisticRegression | CalibratedClassifierCV:
    """A fitted scorer (`predict_proba`) for examples `x` with labels `y` (1 yes, 0 no).

    `background`: unlabelled pictures taken as weak 'no's (together they weigh
    BACKGROUND_WEIGHT times the 'no' examples). A person's 'no' examples are as many as the
    'yes' ones, but most pictures of a collection lack a given tag; without this the
    model learns a 50% prior and over-suggests (bench/teach.py).
    """
    base = LogisticRegression(C=_C, max_iter=1000)
    fewest = int(min(y.sum(), len(y) - y.sum()))
    n_yes, n_no = int(y.sum()), len(y) - int(y.sum())
    weights = np.where(y == 1, 1.0, n_yes / max(n_no, 1))
    if background is not None and len(background):
        x = np.vstack([x, background])
        weights = np.concatenate([weights, np.full(len(background),
                                                   BACKGROUND_WEIGHT * n_yes / len(background))])
        y = np.concatenate([y, np.zeros(len(background), y.dtype)])
    if fewest < _CALIBRATE_FROM:
        return base.fit(x, y, sample_weight=weights)
    folds = min(3, fewest // 2)
    return CalibratedClassifierCV(base, method="sigmoid", cv=folds).fit(
        x, y, sample_weight=weights)


def scores(model: LogisticRegression | CalibratedClassifierCV, x: np.ndarray) -> np.ndarray:
    """Probability of 'yes' for each row."""
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)


def cross_validate(x: np.ndarray, y: np.ndarray, background: np.ndarray | None = None,
                   seed: int = 0) -> CrossValidation:
    """Precision/recall of the same fit on held-out examples (stratified k-fold, k ≤ 5).

    Held-out examples are as balanced as the person gave them, so precision here is
    higher than on a collection where the tag is rare."""
    fewest = int(min(y.sum(), len(y) - y.sum()))
    k = min(5, fewest)
    predicted = np.zeros(len(y), dtype=bool)
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
        predicted[test] = scores(fit(x[train], y[train], background), x[test]) >= 0.5
    return CrossValidation(*precision_recall(predicted, y.astype(bool)), folds=k)


def precision_recall(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(precision, recall); precision is 1.0 when nothing was predicted (nothing wrong)."""
    hits = int((predicted & truth).sum())
    precision = hits / int(predicted.sum()) if predicted.any() else 1.0
    recall = hits / int(truth.sum()) if truth.any() else 1.0
    return precision, recall


def centroid_scores(x: np.ndarray, y: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """The baseline: cosine to the 'yes' centroid minus cosine to the 'no' one (> 0: yes)."""
    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)

    yes, no = unit(x[y == 1].mean(axis=0)), unit(x[y == 0].mean(axis=0))
    p = unit(pool)
    return np.asarray(p @ yes - p @ no, dtype=np.float64)
