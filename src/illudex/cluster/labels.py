"""Naming clusters by the tags that set them apart.

A tag labels a cluster when most of its members carry it (support) and it is much
rarer elsewhere (lift). Candidates are ranked by support × log2(lift), so a tag on
every image ("1girl") never wins, and neither does a rare tag found on few members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from illudex.cluster.features import TagMatrix

MIN_SUPPORT = 0.5      # share of members carrying the tag ("present in most of its members")
FALLBACK_SUPPORT = 0.25  # used when no tag reaches MIN_SUPPORT
MIN_LIFT = 1.5         # how much more common inside than outside
_SMOOTH = 0.5          # additive smoothing of counts (no division by zero, no infinite lift)


@dataclass(frozen=True)
class LabelTag:
    """One label tag with the evidence behind it."""

    tag: str
    support: float  # share of the cluster's members carrying it
    elsewhere: float  # share of the other images carrying it
    score: float

    def as_dict(self) -> dict[str, object]:
        return {"tag": self.tag, "support": round(self.support, 4),
                "elsewhere": round(self.elsewhere, 4), "score": round(self.score, 4)}


def cluster_tag_counts(tags: TagMatrix, rows: np.ndarray, labels: np.ndarray,
                       n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """(members per cluster × tag counts, members per cluster) over rows with a label >= 0.

    `rows[i]` is the row of `tags.matrix` for the image given `labels[i]`.
    """
    keep = labels >= 0
    member = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (labels[keep], rows[keep])),
        shape=(n_clusters, tags.matrix.shape[0]),
    )
    counts = np.asarray((member @ tags.matrix).todense())
    sizes = np.bincount(labels[keep], minlength=n_clusters).astype(np.float64)
    return counts, sizes


def label_clusters(
    counts: np.ndarray, sizes: np.ndarray, tag_names: list[str], max_tags: int
) -> list[list[LabelTag]]:
    """For each cluster, up to `max_tags` distinguishing tags, best first."""
    total_counts = counts.sum(axis=0)
    total = sizes.sum()
    labels = []
    for c in range(counts.shape[0]):
        inside, size = counts[c], sizes[c]
        outside, rest = total_counts - inside, total - size
        support = inside / max(size, 1.0)
        elsewhere = outside / rest if rest > 0 else np.zeros_like(outside)
        lift = ((inside + _SMOOTH) / (size + 1.0)) / ((outside + _SMOOTH) / (rest + 1.0))
        score = support * np.log2(np.maximum(lift, 1e-12))
        labels.append(_pick(support, elsewhere, lift, score, tag_names, max_tags))
    return labels


def _pick(support: np.ndarray, elsewhere: np.ndarray, lift: np.ndarray, score: np.ndarray,
          tag_names: list[str], max_tags: int) -> list[LabelTag]:
    for floor in (MIN_SUPPORT, FALLBACK_SUPPORT):
        ok = np.flatnonzero((support >= floor) & (lift >= MIN_LIFT))
        if len(ok):
            # Highest score first; ties broken by name so labels are stable.
            order = sorted(ok, key=lambda j: (-score[j], tag_names[j]))[:max_tags]
            return [LabelTag(tag_names[j], float(support[j]), float(elsewhere[j]),
                             float(score[j])) for j in order]
    return []
