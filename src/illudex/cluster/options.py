"""What a clustering run is asked to do, checked before any work starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from illudex.cluster.algorithms import METHODS, validate_params
from illudex.cluster.autok import CRITERIA
from illudex.cluster.errors import ClusterError

FEATURE_KINDS = ("tags", "embedding", "both")
MAP_KINDS = (None, "auto", "pca", "tsne")


@dataclass
class ClusterOptions:
    """Options of `cluster_images`; every field has a sensible default.

    by: 'tags' | 'embedding' | 'both' (blocks scaled to equal variance, times `weights`).
    k: a number of clusters, or 'auto' (chosen over `k_range` by `k_criterion`).
        Density methods (optics, hdbscan) find their own number: leave k at 'auto'.
    method: kmeans | agglomerative | spectral | optics | hdbscan; `params` are that
        method's own parameters (see `illudex.cluster.algorithms.describe_methods()`).
    svd_components: truncated SVD dimensions for tags: an int, 'auto' (64 when there are
        more tags than that) or None; for embeddings only an int reduces them.
    tfidf: weight tags by TF-IDF (True) or use plain counts (False).
    min_cluster_size: clusters smaller than this are flagged `tiny`.
    map: None (no 2D map), 'auto' (t-SNE for small sets, PCA for large), 'pca', 'tsne'.
    threads: native threads for the numeric libraries; None leaves their default (all
        cores). 1 by default: on a busy machine their spinning threads made runs 4-8×
        slower, and on an idle one a second thread saves little here.
    """

    by: str = "tags"
    k: int | str = "auto"
    k_range: tuple[int, int] | None = None
    k_criterion: str = "silhouette"
    method: str = "kmeans"
    params: dict[str, Any] = field(default_factory=dict)
    svd_components: int | str | None = "auto"
    tfidf: bool = True
    embedding_model: str | None = None
    weights: tuple[float, float] = (1.0, 1.0)
    seed: int = 0
    min_cluster_size: int = 3
    label_tags: int = 4
    exclude_categories: tuple[str, ...] = ("rating", "meta")
    min_tag_score: float | None = None
    map: str | None = None
    search_sample: int = 20_000
    silhouette_sample: int = 4_000
    threads: int | None = 1

    def validated_params(self) -> dict[str, Any]:
        """Check every option; return the method's parameters completed with defaults."""
        _check_choice("by", self.by, FEATURE_KINDS)
        _check_choice("method", self.method, tuple(METHODS))
        _check_choice("k_criterion", self.k_criterion, CRITERIA)
        _check_choice("map", self.map, MAP_KINDS)
        self._check_k()
        self._check_numbers()
        return validate_params(self.method, self.params)

    def _check_k(self) -> None:
        spec = METHODS[self.method]
        if self.k != "auto" and (isinstance(self.k, bool) or not isinstance(self.k, int)):
            raise ClusterError(f"k must be a whole number or 'auto', not {self.k!r}")
        if isinstance(self.k, int) and self.k < 2:
            raise ClusterError(f"k must be at least 2 (got {self.k})")
        if isinstance(self.k, int) and not spec.needs_k:
            raise ClusterError(
                f"method {self.method!r} finds the number of clusters itself: leave k at "
                f"'auto' and tune its parameters ({', '.join(spec.params)}) instead"
            )
        if self.k_range is not None:
            low, high = self.k_range
            if not (isinstance(low, int) and isinstance(high, int) and 2 <= low <= high):
                raise ClusterError(f"k_range must be (low, high) with 2 <= low <= high, "
                                   f"not {self.k_range!r}")

    def _check_numbers(self) -> None:
        if self.svd_components not in (None, "auto") and (
            not isinstance(self.svd_components, int) or self.svd_components < 2
        ):
            raise ClusterError(
                f"svd_components must be None, 'auto' or a number >= 2, "
                f"not {self.svd_components!r}"
            )
        if len(self.weights) != 2 or min(self.weights) <= 0:
            raise ClusterError(f"weights must be two positive numbers (tags, embedding), "
                               f"not {self.weights!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ClusterError(f"threads must be None or a positive number, not {self.threads!r}")
        for name in ("min_cluster_size", "label_tags", "search_sample", "silhouette_sample"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ClusterError(f"{name} must be a positive whole number, not {value!r}")


def _check_choice(name: str, value: object, choices: tuple[object, ...]) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ClusterError(f"unknown {name} {value!r}: choose one of {shown}")
